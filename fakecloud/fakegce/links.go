package fakegce

import (
	"strings"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
)

// linkFields are the JSON names of fields that hold resource URLs. The fake stores them
// relative ("projects/p/regions/r/targetPools/x") and renders them absolute with the
// request's base URL, like GCE which answers with full URLs whatever form it was sent.
var linkFields = map[string]bool{
	"target": true, "backendService": true, "network": true, "subnetwork": true,
	"healthChecks": true, "healthCheck": true, "group": true, "instance": true,
	"instances": true, "users": true, "backupPool": true, "region": true, "zone": true,
	"selfLink": true, "targetLink": true, "zones": true, "subnetworks": true,
}

// refFields are the link fields that make the linked resource "in use" by the holder.
var refFields = map[string]bool{
	"target": true, "backendService": true, "healthChecks": true, "healthCheck": true,
	"group": true, "backupPool": true,
}

// canonicalLink turns a full URL, a partial URL ("regions/r/targetPools/x",
// "/zones/z/instances/i") or a relative link into "projects/<p>/...". Other strings
// (plain names) come back unchanged.
func canonicalLink(project, s string) string {
	if s == "" {
		return s
	}
	if i := strings.Index(s, "projects/"); i >= 0 && (i == 0 || s[i-1] == '/') {
		return s[i:]
	}
	t := strings.TrimPrefix(s, "/")
	for _, p := range []string{"global/", "regions/", "zones/"} {
		if strings.HasPrefix(t, p) {
			return "projects/" + project + "/" + t
		}
	}
	return s
}

// absLink is the full URL of a relative link.
func absLink(base, rel string) string {
	if strings.HasPrefix(rel, "projects/") {
		return base + "/compute/v1/" + rel
	}
	return rel
}

// walkLinks calls fn on every link field (scalar or repeated string) of m and its nested
// messages, replacing each value with fn's result.
func walkLinks(m protoreflect.Message, fn func(field, v string) string) {
	type update struct {
		fd protoreflect.FieldDescriptor
		v  string
	}
	var updates []update
	m.Range(func(fd protoreflect.FieldDescriptor, v protoreflect.Value) bool {
		switch {
		case fd.IsMap():
		case fd.Kind() == protoreflect.MessageKind && fd.IsList():
			l := v.List()
			for i := 0; i < l.Len(); i++ {
				walkLinks(l.Get(i).Message(), fn)
			}
		case fd.Kind() == protoreflect.MessageKind:
			walkLinks(v.Message(), fn)
		case fd.Kind() == protoreflect.StringKind && linkFields[fd.JSONName()]:
			if fd.IsList() {
				l := v.List()
				for i := 0; i < l.Len(); i++ {
					l.Set(i, protoreflect.ValueOfString(fn(fd.JSONName(), l.Get(i).String())))
				}
			} else {
				updates = append(updates, update{fd, fn(fd.JSONName(), v.String())})
			}
		}
		return true
	})
	for _, u := range updates {
		m.Set(u.fd, protoreflect.ValueOfString(u.v))
	}
}

// canonicalize rewrites every link of msg to its relative form.
func canonicalize(project string, msg proto.Message) {
	walkLinks(msg.ProtoReflect(), func(_, v string) string { return canonicalLink(project, v) })
}

// rendered is a copy of msg with absolute links.
func rendered(base string, msg proto.Message) proto.Message {
	out := proto.Clone(msg)
	walkLinks(out.ProtoReflect(), func(_, v string) string { return absLink(base, v) })
	return out
}

// references lists the links msg holds in fields that make their target "in use".
func references(msg proto.Message) []string {
	var out []string
	walkLinks(msg.ProtoReflect(), func(field, v string) string {
		if refFields[field] {
			out = append(out, v)
		}
		return v
	})
	return out
}

// field looks a field up by its JSON name; nil when the message has none.
func field(msg proto.Message, jsonName string) protoreflect.FieldDescriptor {
	return msg.ProtoReflect().Descriptor().Fields().ByJSONName(jsonName)
}

// getString reads a string field by JSON name ("" when absent).
func getString(msg proto.Message, jsonName string) string {
	fd := field(msg, jsonName)
	if fd == nil || fd.Kind() != protoreflect.StringKind || fd.IsList() {
		return ""
	}
	return msg.ProtoReflect().Get(fd).String()
}

// setString sets a string field by JSON name; a message without the field is left alone.
func setString(msg proto.Message, jsonName, v string) {
	if fd := field(msg, jsonName); fd != nil && fd.Kind() == protoreflect.StringKind && !fd.IsList() {
		msg.ProtoReflect().Set(fd, protoreflect.ValueOfString(v))
	}
}

// has reports whether a field is set.
func has(msg proto.Message, jsonName string) bool {
	fd := field(msg, jsonName)
	return fd != nil && msg.ProtoReflect().Has(fd)
}

// clearField unsets a field by JSON name.
func clearField(msg proto.Message, jsonName string) {
	if fd := field(msg, jsonName); fd != nil {
		msg.ProtoReflect().Clear(fd)
	}
}

// setUint64 sets the id-like field jsonName.
func setUint64(msg proto.Message, jsonName string, v uint64) {
	if fd := field(msg, jsonName); fd != nil && fd.Kind() == protoreflect.Uint64Kind {
		msg.ProtoReflect().Set(fd, protoreflect.ValueOfUint64(v))
	}
}

// getUint64 reads an id-like field.
func getUint64(msg proto.Message, jsonName string) uint64 {
	if fd := field(msg, jsonName); fd != nil && fd.Kind() == protoreflect.Uint64Kind {
		return msg.ProtoReflect().Get(fd).Uint()
	}
	return 0
}

// setFields lists the JSON names of the top-level fields set in msg.
func setFields(msg proto.Message) []string {
	var out []string
	msg.ProtoReflect().Range(func(fd protoreflect.FieldDescriptor, _ protoreflect.Value) bool {
		out = append(out, fd.JSONName())
		return true
	})
	return out
}

// mergePatch applies patch onto dst with JSON merge patch semantics: set scalars and lists
// replace, set messages merge recursively.
func mergePatch(dst, patch protoreflect.Message) {
	patch.Range(func(fd protoreflect.FieldDescriptor, v protoreflect.Value) bool {
		if fd.Kind() == protoreflect.MessageKind && !fd.IsList() && !fd.IsMap() && dst.Has(fd) {
			mergePatch(dst.Mutable(fd).Message(), v.Message())
			return true
		}
		dst.Set(fd, v)
		return true
	})
}

// validName reports whether name is a valid GCE resource name (RFC 1035, 1-63 chars).
func validName(name string) bool {
	if len(name) == 0 || len(name) > 63 || name[0] < 'a' || name[0] > 'z' {
		return false
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-') {
			return false
		}
	}
	return name[len(name)-1] != '-'
}

// lastSegment is the name at the end of a link.
func lastSegment(link string) string {
	return link[strings.LastIndex(link, "/")+1:]
}

// collectionOf is the collection segment of a relative link ("targetPools").
func collectionOf(link string) string {
	parts := strings.Split(link, "/")
	if len(parts) < 2 {
		return ""
	}
	return parts[len(parts)-2]
}
