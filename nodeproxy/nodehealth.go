package nodeproxy

import (
	"encoding/json"
	"net/http"
	"strconv"
	"time"
)

// DefaultHealthzBindAddress is kube-proxy's node health address (ProxyHealthzPort 10256), which
// GCE, AWS (shared mode), Azure (shared mode), OCI and DigitalOcean probe.
const DefaultHealthzBindAddress = "0.0.0.0:10256"

// nodeHealthBody is the /healthz and /livez body: kube-proxy's fields and names. kube-proxy
// (v1.34) adds a per-IP-family "status" map; this agent has one sync loop for both families,
// so "healthy" says it all and the map is left out.
type nodeHealthBody struct {
	LastUpdated  time.Time `json:"lastUpdated"`
	CurrentTime  time.Time `json:"currentTime"`
	NodeEligible *bool     `json:"nodeEligible,omitempty"`
	Healthy      bool      `json:"healthy"`
}

// NodeHealthHandler serves /healthz (agent healthy and node eligible) and /livez (agent
// healthy); any other path is 404, as in kube-proxy.
func NodeHealthHandler(h *HealthState) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, _ *http.Request) { serveNodeHealth(w, h, true) })
	mux.HandleFunc("/livez", func(w http.ResponseWriter, _ *http.Request) { serveNodeHealth(w, h, false) })
	return mux
}

func serveNodeHealth(w http.ResponseWriter, h *HealthState, withEligibility bool) {
	healthy, last, now := h.Health()
	body := nodeHealthBody{LastUpdated: last, CurrentTime: now, Healthy: healthy}
	ok, path := healthy, "/livez"
	if withEligibility {
		eligible, _ := h.NodeEligibility()
		body.NodeEligible = &eligible
		ok, path = healthy && eligible, "/healthz"
	}
	if healthy {
		// kube-proxy reports "now" while healthy, for clients that compare the two times.
		body.LastUpdated = now
	}
	code := http.StatusServiceUnavailable
	if ok {
		code = http.StatusOK
	}
	nodeProbes.WithLabelValues(path, strconv.Itoa(code)).Inc()
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(code)
	out, _ := json.Marshal(body) // cannot fail: fixed types
	_, _ = w.Write(out)
}
