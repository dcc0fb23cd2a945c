package annotations

import "strings"

// ourPrefixes are key prefixes under which any unknown key is almost certainly a typo of ours.
var ourPrefixes = []string{
	"service.beta.kubernetes.io/aws-",
	"service.beta.kubernetes.io/azure-",
	"service.beta.kubernetes.io/port_",
	"service.beta.kubernetes.io/load-balancer-",
	"networking.gke.io/",
	"cloud.google.com/",
	"alpha.cloud.google.com/",
}

// unknown classifies a key that is not in the registry.
func (p *parser) unknown(key, raw string) {
	if owner, ok := foreignOwner(key); ok {
		p.warnf(key, raw, "", "belongs to %s, ignored", owner)
		return
	}
	domain, _, _ := strings.Cut(key, "/")
	if _, ours := registryOnce().domains[domain]; !ours {
		// Keys of other domains (kubectl, helm, argocd, ...) are none of our business, and
		// searching them for typos would cost more than the rest of Parse together.
		return
	}
	if near, ok := nearestKey(key); ok {
		p.warnf(key, raw, "", "unknown annotation, did you mean %s?", near)
		return
	}
	for _, pre := range ourPrefixes {
		if strings.HasPrefix(key, pre) {
			p.warnf(key, raw, "", "unknown annotation, ignored")
			return
		}
	}
}

// maxTypoDistance allows about one edit per eight characters of the part after the domain.
func maxTypoDistance(key string) int {
	_, name, _ := strings.Cut(key, "/")
	return max(2, len(name)/8)
}

// nearestKey returns the registered key (or alias) of the same domain closest to key, when it
// is within maxTypoDistance. Per-port templates are compared with their placeholder replaced
// by the port text of key, if any.
func nearestKey(key string) (string, bool) {
	limit := maxTypoDistance(key) + 1
	best, bestDist := "", limit
	domain, _, _ := strings.Cut(key, "/")
	for _, k := range registryOnce().domains[domain] {
		cand := k
		if strings.Contains(k, "{port}") {
			cand = strings.Replace(k, "{port}", portText(key), 1)
		}
		if d := editDistance(key, cand, bestDist); d < bestDist {
			best, bestDist = cand, d
		}
	}
	return best, bestDist < limit
}

// editDistance is the Levenshtein distance, giving up early once it exceeds limit.
func editDistance(a, b string, limit int) int {
	if abs(len(a)-len(b)) >= limit {
		return limit
	}
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		rowMin := cur[0]
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
			rowMin = min(rowMin, cur[j])
		}
		if rowMin >= limit {
			return limit
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

func abs(n int) int {
	if n < 0 {
		return -n
	}
	return n
}

// portText returns the text between "port_" and the next "_" in key, for per-port typos.
func portText(key string) string {
	_, rest, ok := strings.Cut(key, "/port_")
	if !ok {
		return "{port}"
	}
	p, _, _ := strings.Cut(rest, "_")
	return p
}
