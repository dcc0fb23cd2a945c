package fakeazure

import (
	"encoding/json"
	"net/http"
	"sort"
	"strconv"
)

// putCtx names the resource a PUT writes, in the case it was created with.
type putCtx struct{ id, rg, name string }

// impl is what differs between top-level kinds.
type impl struct {
	decode func([]byte) (any, error)
	// put validates obj, the desired resource, against the state and fills the server's
	// fields; old is the stored resource or nil. It must not change the state.
	put func(s *Server, p putCtx, obj, old any) *armError
	// checkDelete refuses to delete a resource still referenced.
	checkDelete func(s *Server, e *entry) *armError
}

func implOf(k *kind) impl {
	switch k {
	case kindLB:
		return impl{decode: decodeAs[lbT], put: putLB, checkDelete: deleteLBCheck}
	case kindPIP:
		return impl{decode: decodeAs[pipT], put: putPIP, checkDelete: deletePIPCheck}
	case kindNSG:
		return impl{decode: decodeAs[nsgT], put: putNSG, checkDelete: deleteNSGCheck}
	case kindPLS:
		return impl{decode: decodeAs[plsT], put: putPLS, checkDelete: func(*Server, *entry) *armError { return nil }}
	default:
		return impl{decode: decodeAs[vnetT], put: putVNet, checkDelete: deleteVNetCheck}
	}
}

func decodeAs[T any](b []byte) (any, error) {
	v := new(T)
	if err := json.Unmarshal(b, v); err != nil {
		return nil, err
	}
	return v, nil
}

func errDecode(err error) *armError {
	return badRequest("InvalidRequestContent", "The request content was invalid and could not be deserialized: %v", err)
}

// precondition applies If-Match and If-None-Match to the current etag.
func precondition(r *http.Request, cur string, exists bool, id string) *armError {
	if im := r.Header.Get("If-Match"); im != "" && (!exists || (im != "*" && im != cur)) {
		return errPrecondition(id)
	}
	if inm := r.Header.Get("If-None-Match"); inm != "" && exists && (inm == "*" || inm == cur) {
		return errPrecondition(id)
	}
	return nil
}

func (s *Server) getTop(rt route) (*response, *armError) {
	e := s.res[key(rt.topID())]
	if e == nil {
		return nil, errNotFound(rt.kind.typ(), rt.name, rt.rg)
	}
	return jsonResponse(http.StatusOK, mustJSON(e.obj)), nil
}

func (s *Server) getChild(rt route) (*response, *armError) {
	e := s.res[key(rt.topID())]
	if e == nil {
		return nil, errNotFound(rt.kind.typ(), rt.name, rt.rg)
	}
	c, _ := findChild(e.obj, rt.child.coll, rt.childName)
	if c == nil {
		return nil, errChildNotFound(rt.childID())
	}
	return jsonResponse(http.StatusOK, mustJSON(c)), nil
}

func (s *Server) putTop(r *http.Request, rt route, body []byte, fail *armError) (*response, *armError) {
	id := rt.topID()
	e := s.res[key(id)]
	p := putCtx{id: id, rg: rt.rg, name: rt.name}
	cur := ""
	if e != nil {
		p = putCtx{id: e.id, rg: e.rg, name: e.name}
		cur = etagOf(e.obj)
	}
	if err := precondition(r, cur, e != nil, p.id); err != nil {
		return nil, err
	}
	status := http.StatusCreated
	if e != nil {
		status = http.StatusOK
	}
	if fail != nil {
		res := jsonResponse(status, updating(body))
		res.header = s.acceptedHeaders(r, s.startOperation(key(p.id), fail), false)
		return res, nil
	}
	if !validName(p.name) {
		return nil, errInvalidName(p.name)
	}
	im := implOf(rt.kind)
	obj, err := im.decode(body)
	if err != nil {
		return nil, errDecode(err)
	}
	var old any
	if e != nil {
		old = e.obj
	}
	if aerr := im.put(s, p, obj, old); aerr != nil {
		return nil, aerr
	}
	setEtag(obj, s.newEtag())
	if e == nil {
		s.seq++
		e = &entry{kind: rt.kind, id: p.id, rg: p.rg, name: p.name, seq: s.seq}
		s.res[key(p.id)] = e
	}
	e.obj = obj
	s.relink(e)
	s.recordBackends(e)
	return s.accepted(r, status, key(e.id), toMap(e.obj)), nil
}

// accepted is the first answer of a long-running PUT: the resource in state Updating and
// the Azure-AsyncOperation header.
func (s *Server) accepted(r *http.Request, status int, resKey string, m map[string]any) *response {
	props(m)["provisioningState"] = "Updating"
	res := jsonResponse(status, mustJSON(m))
	res.header = s.acceptedHeaders(r, s.startOperation(resKey, nil), false)
	return res
}

func (s *Server) deleteTop(r *http.Request, rt route, fail *armError) (*response, *armError) {
	e := s.res[key(rt.topID())]
	if e == nil {
		return jsonResponse(http.StatusNoContent, nil), nil
	}
	if err := precondition(r, etagOf(e.obj), true, e.id); err != nil {
		return nil, err
	}
	if fail != nil {
		res := jsonResponse(http.StatusAccepted, nil)
		res.header = s.acceptedHeaders(r, s.startOperation(key(e.id), fail), true)
		return res, nil
	}
	if err := implOf(rt.kind).checkDelete(s, e); err != nil {
		return nil, err
	}
	delete(s.res, key(e.id))
	s.relink(nil)
	res := jsonResponse(http.StatusAccepted, nil)
	res.header = s.acceptedHeaders(r, s.startOperation(key(e.id), nil), true)
	return res, nil
}

// putChild writes one nested resource by rewriting its parent, so that the parent's
// validation (references, conflicts, in-use checks) applies unchanged.
func (s *Server) putChild(r *http.Request, rt route, body []byte, fail *armError) (*response, *armError) {
	if !rt.child.writable {
		return nil, errMethod(r.Method)
	}
	e := s.res[key(rt.topID())]
	if e == nil {
		return nil, errNotFound(rt.kind.typ(), rt.name, rt.rg)
	}
	m := toMap(e.obj)
	arr := childArray(m, rt.child.coll)
	idx := indexByName(arr, rt.childName)
	name, cur := rt.childName, ""
	if idx >= 0 {
		name, cur = nameOf(arr[idx]), etagOf(e.obj)
	}
	childID := e.id + "/" + rt.child.coll + "/" + name
	if err := precondition(r, cur, idx >= 0, childID); err != nil {
		return nil, err
	}
	status := http.StatusCreated
	if idx >= 0 {
		status = http.StatusOK
	}
	if fail != nil {
		res := jsonResponse(status, updating(body))
		res.header = s.acceptedHeaders(r, s.startOperation(key(e.id), fail), false)
		return res, nil
	}
	if !validName(name) {
		return nil, errInvalidName(name)
	}
	var child map[string]any
	if err := json.Unmarshal(body, &child); err != nil || child == nil {
		return nil, errDecode(err)
	}
	child["name"] = name
	if idx >= 0 {
		arr[idx] = child
	} else {
		arr = append(arr, child)
	}
	props(m)[rt.child.coll] = arr
	if err := s.rewrite(e, m); err != nil {
		return nil, err
	}
	c, _ := findChild(e.obj, rt.child.coll, name)
	return s.accepted(r, status, key(e.id), c), nil
}

func (s *Server) deleteChild(r *http.Request, rt route, fail *armError) (*response, *armError) {
	if !rt.child.writable {
		return nil, errMethod(r.Method)
	}
	e := s.res[key(rt.topID())]
	if e == nil {
		return nil, errNotFound(rt.kind.typ(), rt.name, rt.rg)
	}
	m := toMap(e.obj)
	arr := childArray(m, rt.child.coll)
	idx := indexByName(arr, rt.childName)
	if idx < 0 {
		return jsonResponse(http.StatusNoContent, nil), nil
	}
	if err := precondition(r, etagOf(e.obj), true, rt.childID()); err != nil {
		return nil, err
	}
	if fail != nil {
		res := jsonResponse(http.StatusAccepted, nil)
		res.header = s.acceptedHeaders(r, s.startOperation(key(e.id), fail), true)
		return res, nil
	}
	props(m)[rt.child.coll] = append(arr[:idx:idx], arr[idx+1:]...)
	if err := s.rewrite(e, m); err != nil {
		return nil, err
	}
	res := jsonResponse(http.StatusAccepted, nil)
	res.header = s.acceptedHeaders(r, s.startOperation(key(e.id), nil), true)
	return res, nil
}

// rewrite stores m as the new state of e after the kind's validation.
func (s *Server) rewrite(e *entry, m map[string]any) *armError {
	im := implOf(e.kind)
	obj, err := im.decode(mustJSON(m))
	if err != nil {
		return errDecode(err)
	}
	if aerr := im.put(s, putCtx{id: e.id, rg: e.rg, name: e.name}, obj, e.obj); aerr != nil {
		return aerr
	}
	setEtag(obj, s.newEtag())
	e.obj = obj
	s.relink(e)
	s.recordBackends(e)
	return nil
}

// updateTags is PATCH {"tags":{...}}: it replaces the tags synchronously.
func (s *Server) updateTags(rt route, body []byte) (*response, *armError) {
	e := s.res[key(rt.topID())]
	if e == nil {
		return nil, errNotFound(rt.kind.typ(), rt.name, rt.rg)
	}
	var in struct {
		Tags map[string]*string `json:"tags"`
	}
	if err := json.Unmarshal(body, &in); err != nil {
		return nil, errDecode(err)
	}
	setTags(e.obj, in.Tags)
	setEtag(e.obj, s.newEtag())
	return jsonResponse(http.StatusOK, mustJSON(e.obj)), nil
}

func (s *Server) listTop(r *http.Request, rt route) (*response, *armError) {
	var es []*entry
	for _, e := range s.res {
		if e.kind == rt.kind && (rt.all || eq(e.rg, rt.rg)) {
			es = append(es, e)
		}
	}
	sort.Slice(es, func(i, j int) bool { return es[i].seq < es[j].seq })
	items := make([]json.RawMessage, 0, len(es))
	for _, e := range es {
		items = append(items, mustJSON(e.obj))
	}
	return s.page(r, items), nil
}

func (s *Server) listChildren(r *http.Request, rt route) (*response, *armError) {
	e := s.res[key(rt.topID())]
	if e == nil {
		return nil, errNotFound(rt.kind.typ(), rt.name, rt.rg)
	}
	arr := childArray(toMap(e.obj), rt.child.coll)
	items := make([]json.RawMessage, 0, len(arr))
	for _, c := range arr {
		items = append(items, mustJSON(c))
	}
	return s.page(r, items), nil
}

// page answers one page of a list, with a nextLink ($skiptoken) when more remain.
func (s *Server) page(r *http.Request, items []json.RawMessage) *response {
	skip, _ := strconv.Atoi(r.URL.Query().Get("$skiptoken"))
	skip = max(0, min(skip, len(items)))
	end := min(skip+s.opts.PageSize, len(items))
	out := struct {
		Value    []json.RawMessage `json:"value"`
		NextLink string            `json:"nextLink,omitempty"`
	}{Value: items[skip:end]}
	if end < len(items) {
		q := r.URL.Query()
		q.Set("$skiptoken", strconv.Itoa(end))
		out.NextLink = baseURL(r) + r.URL.Path + "?" + q.Encode()
	}
	return jsonResponse(http.StatusOK, mustJSON(out))
}

// JSON map helpers, used where the code is the same for every kind.

func toMap(v any) map[string]any {
	var m map[string]any
	if err := json.Unmarshal(mustJSON(v), &m); err != nil || m == nil {
		return map[string]any{}
	}
	return m
}

func props(m map[string]any) map[string]any {
	p, ok := m["properties"].(map[string]any)
	if !ok {
		p = map[string]any{}
		m["properties"] = p
	}
	return p
}

func childArray(m map[string]any, coll string) []any {
	arr, _ := props(m)[coll].([]any)
	return arr
}

func nameOf(v any) string {
	m, _ := v.(map[string]any)
	n, _ := m["name"].(string)
	return n
}

func indexByName(arr []any, name string) int {
	for i, c := range arr {
		if eq(nameOf(c), name) {
			return i
		}
	}
	return -1
}

// findChild returns one nested resource of obj as a JSON map.
func findChild(obj any, coll, name string) (map[string]any, int) {
	arr := childArray(toMap(obj), coll)
	i := indexByName(arr, name)
	if i < 0 {
		return nil, -1
	}
	m, _ := arr[i].(map[string]any)
	return m, i
}
