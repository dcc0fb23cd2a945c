package fakegce

import (
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"net/url"
	"slices"
	"strings"

	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
)

// call is one decoded request.
type call struct {
	*route
	base  string
	body  []byte
	query url.Values
}

// object is one stored resource.
type object struct {
	typ   *rtype
	link  string // relative self link
	scope string // "global", "regions/r", "zones/z"
	name  string
	msg   proto.Message
	// members are the instance links of an instance group, sorted.
	members []string
}

// rtype describes one collection: its message, and the hooks that enforce its rules.
type rtype struct {
	api, collection, kind string
	scopeKind             string // "global", "regions" or "zones"
	newMsg                func() proto.Message
	// readOnly collections are seeded by tests (networks, subnetworks).
	readOnly bool
	// canPatch and canUpdate enable PATCH and PUT; patchFields, when set, are the only
	// fields PATCH may change.
	canPatch, canUpdate bool
	patchFields         map[string]bool
	// fingerprint says whether PATCH and PUT may (fpOptional) or must (fpRequired)
	// carry the current fingerprint; a stale one is 412 conditionNotMet.
	fingerprint fingerprintRule
	// check validates o (old is nil on insert) and fills defaults; it must not touch
	// other objects, so a failed write changes nothing.
	check func(s *Server, c *call, o, old *object) error
	// afterInsert and afterDelete update other objects once the write is certain.
	afterInsert func(s *Server, o *object)
	afterDelete func(s *Server, o *object)
	// inUse returns the link of a user that forbids deleting o beyond plain references.
	inUse func(s *Server, o *object) string
	verbs map[string]verb
}

// fingerprintRule is how a collection uses fingerprints for optimistic locking.
type fingerprintRule int

const (
	// fpNone: the collection has no fingerprint check.
	fpNone fingerprintRule = iota
	// fpOptional: a fingerprint in the body must be current ("include the fingerprint in
	// patch request to ensure that you do not overwrite changes", ForwardingRule).
	fpOptional
	// fpRequired: "an up-to-date fingerprint must be provided" (BackendService).
	fpRequired
)

// verb is a custom method such as addInstance; read verbs answer a body, others an operation.
type verb struct {
	read bool
	run  func(s *Server, c *call, o *object) ([]byte, error)
}

var unmarshalOpts = protojson.UnmarshalOptions{DiscardUnknown: true}

// decode reads a request body into msg.
func decode(body []byte, msg proto.Message) error {
	if len(strings.TrimSpace(string(body))) == 0 {
		return nil
	}
	if err := unmarshalOpts.Unmarshal(body, msg); err != nil {
		return errInvalid(fmt.Sprintf("Invalid JSON payload received. %v", err))
	}
	return nil
}

// encode renders msg with absolute links.
func (c *call) encode(msg proto.Message) ([]byte, error) {
	b, err := protojson.Marshal(rendered(c.base, msg))
	if err != nil {
		return nil, fmt.Errorf("fakegce: marshal %T: %w", msg, err)
	}
	return b, nil
}

func (s *Server) linkOf(scope, collection, name string) string {
	return "projects/" + s.opts.Project + "/" + scope + "/" + collection + "/" + name
}

// lookup returns the object at link or a 404.
func (s *Server) lookup(link string) (*object, error) {
	o, ok := s.objects[link]
	if !ok {
		return nil, errNotFound(link)
	}
	return o, nil
}

// fingerprint is a fresh opaque fingerprint, base64 of 8 bytes like GCE's.
func (s *Server) fingerprint() string {
	var b [8]byte
	binary.BigEndian.PutUint64(b[:], s.nextID())
	return base64.StdEncoding.EncodeToString(b[:])
}

// stamp sets the output-only fields of a new or replaced resource.
func (s *Server) stamp(o *object, id uint64, created string) {
	setString(o.msg, "kind", o.typ.kind)
	setUint64(o.msg, "id", id)
	setString(o.msg, "creationTimestamp", created)
	setString(o.msg, "name", o.name)
	setString(o.msg, "selfLink", o.link)
	switch o.typ.scopeKind {
	case "regions":
		setString(o.msg, "region", "projects/"+s.opts.Project+"/"+o.scope)
	case "zones":
		setString(o.msg, "zone", "projects/"+s.opts.Project+"/"+o.scope)
	}
	if field(o.msg, "fingerprint") != nil {
		setString(o.msg, "fingerprint", s.fingerprint())
	}
	if field(o.msg, "labelFingerprint") != nil && !has(o.msg, "labelFingerprint") {
		setString(o.msg, "labelFingerprint", "42WmSpB8rSM=")
	}
}

func (s *Server) insert(c *call, t *rtype) (*object, error) {
	msg := t.newMsg()
	if err := decode(c.body, msg); err != nil {
		return nil, err
	}
	name := getString(msg, "name")
	if name == "" {
		return nil, errRequired("resource.name")
	}
	if !validName(name) {
		return nil, errInvalidField("resource.name", name, "Must be a match of regex '(?:[a-z](?:[-a-z0-9]{0,61}[a-z0-9])?)'")
	}
	o := &object{typ: t, scope: c.scope, name: name, msg: msg, link: s.linkOf(c.scope, t.collection, name)}
	if _, ok := s.objects[o.link]; ok {
		return nil, errAlreadyExists(o.link)
	}
	for _, f := range []string{"id", "selfLink", "creationTimestamp", "fingerprint", "kind"} {
		clearField(msg, f)
	}
	canonicalize(s.opts.Project, msg)
	if t.check != nil {
		if err := t.check(s, c, o, nil); err != nil {
			return nil, err
		}
	}
	s.stamp(o, s.nextID(), now())
	s.objects[o.link] = o
	if t.afterInsert != nil {
		t.afterInsert(s, o)
	}
	return o, nil
}

func (s *Server) get(c *call, t *rtype) ([]byte, error) {
	o, err := s.lookup(s.linkOf(c.scope, t.collection, c.name))
	if err != nil {
		return nil, err
	}
	return c.encode(o.msg)
}

func (s *Server) delete(c *call, t *rtype) (*object, error) {
	o, err := s.lookup(s.linkOf(c.scope, t.collection, c.name))
	if err != nil {
		return nil, err
	}
	if user := s.userOf(o); user != "" {
		return nil, errInUse(snakeKind(t.kind), o.link, user)
	}
	delete(s.objects, o.link)
	if t.afterDelete != nil {
		t.afterDelete(s, o)
	}
	return o, nil
}

// userOf is the link of a resource that uses o, "" when none does.
func (s *Server) userOf(o *object) string {
	if o.typ.inUse != nil {
		if u := o.typ.inUse(s, o); u != "" {
			return u
		}
	}
	for _, link := range s.sortedLinks() {
		other := s.objects[link]
		if other == o {
			continue
		}
		if slices.Contains(references(other.msg), o.link) {
			return other.link
		}
	}
	return ""
}

// patchOrUpdate applies PATCH (merge) or PUT (replace) to an existing resource.
func (s *Server) patchOrUpdate(c *call, t *rtype, replace bool) (*object, error) {
	old, err := s.lookup(s.linkOf(c.scope, t.collection, c.name))
	if err != nil {
		return nil, err
	}
	in := t.newMsg()
	if err := decode(c.body, in); err != nil {
		return nil, err
	}
	if n := getString(in, "name"); n != "" && n != old.name {
		return nil, errInvalidField("resource.name", n, "The name of a resource cannot be changed.")
	}
	fp := getString(in, "fingerprint")
	missing := t.fingerprint == fpRequired && fp == ""
	stale := t.fingerprint != fpNone && fp != "" && fp != getString(old.msg, "fingerprint")
	if missing || stale {
		return nil, errConditionNotMet(fmt.Sprintf("Invalid fingerprint. Fetch %s again and retry with its fingerprint.", old.link))
	}
	if !replace && t.patchFields != nil {
		for _, f := range setFields(in) {
			if !t.patchFields[f] && !ignoredOnPatch[f] {
				return nil, errInvalidField("resource."+f, f, "This field cannot be patched.")
			}
		}
	}
	for _, f := range []string{"id", "selfLink", "creationTimestamp", "fingerprint", "kind", "region", "zone"} {
		clearField(in, f)
	}
	canonicalize(s.opts.Project, in)
	var msg proto.Message
	if replace {
		msg = in
	} else {
		msg = proto.Clone(old.msg)
		mergePatch(msg.ProtoReflect(), in.ProtoReflect())
	}
	setString(msg, "name", old.name)
	o := &object{typ: t, link: old.link, scope: old.scope, name: old.name, msg: msg, members: old.members}
	if t.check != nil {
		if err := t.check(s, c, o, old); err != nil {
			return nil, err
		}
	}
	if replace {
		setString(msg, "labelFingerprint", getString(old.msg, "labelFingerprint"))
	}
	s.stamp(o, getUint64(old.msg, "id"), getString(old.msg, "creationTimestamp"))
	s.objects[o.link] = o
	return o, nil
}

// ignoredOnPatch are fields a PATCH body may carry unchanged (clients send back what they read).
var ignoredOnPatch = map[string]bool{
	"name": true, "fingerprint": true, "labelFingerprint": true, "id": true, "kind": true,
	"selfLink": true, "creationTimestamp": true, "region": true, "zone": true,
}

// sortedLinks lists every object link in order.
func (s *Server) sortedLinks() []string {
	links := make([]string, 0, len(s.objects))
	for l := range s.objects {
		links = append(links, l)
	}
	slices.Sort(links)
	return links
}

// inScope lists the objects of one collection in one scope, sorted by name.
func (s *Server) inScope(scope, collection string) []*object {
	prefix := "projects/" + s.opts.Project + "/" + scope + "/" + collection + "/"
	var out []*object
	for _, l := range s.sortedLinks() {
		if strings.HasPrefix(l, prefix) {
			out = append(out, s.objects[l])
		}
	}
	return out
}

// snakeKind turns "compute#healthCheck" into "health_check", the resource word GCE's
// in-use messages use.
func snakeKind(kind string) string {
	k := strings.TrimPrefix(kind, "compute#")
	var b strings.Builder
	for _, r := range k {
		if r >= 'A' && r <= 'Z' {
			b.WriteByte('_')
			r += 'a' - 'A'
		}
		b.WriteRune(r)
	}
	return b.String()
}
