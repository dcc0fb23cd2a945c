package annotations

import (
	"fmt"
	"sort"
	"strconv"
	"strings"

	v1 "k8s.io/api/core/v1"
)

// Config is the typed result of Parse. Only the requested cloud's section is set; with
// AnyCloud, every cloud with at least one key on the Service gets its section.
type Config struct {
	// Service is "namespace/name".
	Service string
	Cloud   Cloud
	Core    CoreConfig
	AWS     *AWSConfig
	Azure   *AzureConfig
	GCE     *GCEConfig
}

// Parse reads every annotation of svc once, validates it, and builds the typed configuration
// for cloud. A Service whose Problems contain an Error must not cause any cloud write.
func Parse(svc *v1.Service, cloud Cloud) (*Config, Problems) {
	p := newParser(svc, cloud)
	p.scan()
	cfg := &Config{Service: p.service, Cloud: cloud}
	p.checkSpec()
	cfg.Core = p.core()
	if p.wants(AWS) {
		cfg.AWS = p.aws()
	}
	if p.wants(Azure) {
		cfg.Azure = p.azure()
	}
	if p.wants(GCE) {
		cfg.GCE = p.gce()
	}
	return cfg, p.problems.list
}

// parser holds the state of one Parse call.
type parser struct {
	svc     *v1.Service
	service string
	cloud   Cloud
	ctx     Context

	values  map[*Descriptor]any
	ports   map[*Descriptor]map[int32]any
	written map[*Descriptor]string // the key as written (key or alias), including invalid ones
	raw     map[*Descriptor]string
	seen    map[Cloud]bool // clouds with at least one recognised key present
	problems
}

func newParser(svc *v1.Service, cloud Cloud) *parser {
	return &parser{
		svc:     svc,
		service: svc.Namespace + "/" + svc.Name,
		cloud:   cloud,
		ctx:     Context{Local: svc.Spec.ExternalTrafficPolicy == v1.ServiceExternalTrafficPolicyLocal},
		values:  map[*Descriptor]any{},
		ports:   map[*Descriptor]map[int32]any{},
		written: map[*Descriptor]string{},
		raw:     map[*Descriptor]string{},
		seen:    map[Cloud]bool{},
	}
}

func (p *parser) wants(c Cloud) bool { return p.cloud == c || p.cloud == AnyCloud && p.seen[c] }

func (p *parser) scan() {
	keys := make([]string, 0, len(p.svc.Annotations))
	for k := range p.svc.Annotations {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	r := registryOnce()
	for _, key := range keys {
		raw := p.svc.Annotations[key]
		d, port, ok := Lookup(key)
		if !ok {
			p.unknown(key, raw)
			continue
		}
		p.seen[d.Cloud] = true
		switch {
		case p.cloud != AnyCloud && d.Cloud != Core && d.Cloud != p.cloud:
			p.warnf(key, raw, "", "belongs to %s, ignored by the %s provider", d.Cloud, p.cloud)
			continue
		case d.Unsupported != "":
			p.warnf(key, raw, "", "recognised but not supported by cloudlb, ignored: %s", d.Unsupported)
			continue
		case r.alias[key]:
			if _, both := p.svc.Annotations[d.Key]; both {
				p.warnf(key, raw, "", "deprecated alias of %s, which is also set and wins", d.Key)
				continue
			}
			p.warnf(key, raw, "", "deprecated, use %s", d.Key)
		}
		p.accept(d, key, port, raw)
	}
}

// accept decodes one recognised value and stores it.
func (p *parser) accept(d *Descriptor, key, port, raw string) {
	var portNum int32
	if d.PerPort() {
		n, err := strconv.Atoi(port)
		if err != nil || n < 1 || n > 65535 {
			p.errorf(key, raw, "a Service port number", "{port} in the key must be a Service port number, got %q", port)
			return
		}
		portNum = int32(n)
		if !p.hasServicePort(portNum) {
			p.warnf(key, raw, p.servicePortsDoc(), "no Service port %d, ignored", n)
			return
		}
	}
	value := raw
	if strings.TrimSpace(raw) == "" && !d.EmptyMeansSomething {
		def := "no value"
		if v, ok := d.DefaultFor(p.ctx); ok {
			def = strconv.Quote(v)
		}
		p.warnf(key, raw, d.AllowedDoc(), "empty value, treated as unset (default: %s)", def)
		return
	}
	for legacy, canonical := range d.ValueAliases {
		if strings.EqualFold(strings.TrimSpace(raw), legacy) {
			p.warnf(key, raw, d.AllowedDoc(), "deprecated value, read as %q", canonical)
			value = canonical
		}
	}
	p.written[d], p.raw[d] = key, raw
	v, err := decode(d, value)
	if err != nil {
		upstream, ok := upstreamReading(d, raw)
		if !ok {
			p.errorf(key, raw, d.AllowedDoc(), "%v", err)
			return
		}
		p.warnf(key, raw, d.AllowedDoc(), "read as %q, as the upstream %s provider reads it; write %q", upstream, d.Cloud, upstream)
		v, _ = decode(d, upstream)
	}
	if d.PerPort() {
		if p.ports[d] == nil {
			p.ports[d] = map[int32]any{}
		}
		p.ports[d][portNum] = v
		return
	}
	p.values[d] = v
}

func (p *parser) hasServicePort(n int32) bool {
	for _, sp := range p.svc.Spec.Ports {
		if sp.Port == n {
			return true
		}
	}
	return false
}

func (p *parser) servicePortsDoc() string {
	var ps []string
	for _, sp := range p.svc.Spec.Ports {
		ps = append(ps, strconv.Itoa(int(sp.Port)))
	}
	if len(ps) == 0 {
		return "none"
	}
	return strings.Join(ps, ", ")
}

// isSet reports whether the key (or an alias) was written on the Service, valid or not.
func (p *parser) isSet(d *Descriptor) bool { _, ok := p.written[d]; return ok }

// invalid reports whether the key was written but failed validation.
func (p *parser) invalid(d *Descriptor) bool {
	_, ok := p.values[d]
	return p.isSet(d) && !ok && !d.PerPort()
}

// keyOf returns the key as the user wrote it (or the canonical key when unset).
func (p *parser) keyOf(d *Descriptor) string {
	if k, ok := p.written[d]; ok {
		return k
	}
	return d.Key
}

// fieldErr reports a cross-field error against d's key as written.
func (p *parser) fieldErr(d *Descriptor, allowed, format string, args ...any) {
	p.errorf(p.keyOf(d), p.raw[d], allowed, format, args...)
}

// fieldWarn reports a cross-field warning against d's key as written.
func (p *parser) fieldWarn(d *Descriptor, allowed, format string, args ...any) {
	p.warnf(p.keyOf(d), p.raw[d], allowed, format, args...)
}

// get returns the valid value of d when it is set.
func get[T any](p *parser, d *Descriptor) (T, bool) {
	v, ok := p.values[d]
	if !ok {
		var zero T
		return zero, false
	}
	return mustBe[T](d, v), true
}

// getOr returns the valid value of d, else its default for the parser's context, else zero.
func getOr[T any](p *parser, d *Descriptor) T {
	if v, ok := get[T](p, d); ok {
		return v
	}
	if raw, ok := d.DefaultFor(p.ctx); ok {
		v, err := decode(d, raw)
		if err != nil {
			panic(fmt.Sprintf("annotations: default %q of %s does not validate: %v", raw, d.Key, err))
		}
		return mustBe[T](d, v)
	}
	var zero T
	return zero
}

// perPort returns the valid values of a per-port key by Service port number.
func perPort[T any](p *parser, d *Descriptor) map[int32]T {
	out := map[int32]T{}
	for port, v := range p.ports[d] {
		out[port] = mustBe[T](d, v)
	}
	return out
}

func mustBe[T any](d *Descriptor, v any) T {
	t, ok := v.(T)
	if !ok {
		panic(fmt.Sprintf("annotations: %s decodes to %T, read as %T", d.Key, v, t))
	}
	return t
}

// NodeLabels returns the node labels a Service restricts its backends to (every listed key must
// be present; an empty value matches any value), or nil for all nodes. The controller uses it to
// re-evaluate a Service when node labels change.
func (c *Config) NodeLabels() map[string]string {
	if c.AWS != nil && len(c.AWS.TargetNodeLabels) > 0 {
		return c.AWS.TargetNodeLabels
	}
	return nil
}
