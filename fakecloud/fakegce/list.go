package fakegce

import (
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

// maxPage is GCE's largest (and default) page size.
const maxPage = 500

// list answers GET on a collection: filter, then one page of maxResults items.
func (s *Server) list(c *call, t *rtype) ([]byte, error) {
	terms, err := parseFilter(c.query.Get("filter"))
	if err != nil {
		return nil, err
	}
	var items []json.RawMessage
	for _, o := range s.inScope(c.scope, t.collection) {
		b, err := c.encode(o.msg)
		if err != nil {
			return nil, err
		}
		if ok, err := matches(terms, b, s.opts.Project); err != nil {
			return nil, err
		} else if ok {
			items = append(items, b)
		}
	}
	page, next, err := paginate(items, c.query.Get("maxResults"), c.query.Get("pageToken"))
	if err != nil {
		return nil, err
	}
	collLink := s.linkOf(c.scope, t.collection, "")
	out := map[string]any{
		"kind":     t.kind + "List",
		"id":       strings.TrimSuffix(collLink, "/"),
		"items":    page,
		"selfLink": absLink(c.base, strings.TrimSuffix(collLink, "/")),
	}
	if next != "" {
		out["nextPageToken"] = next
	}
	return json.Marshal(out)
}

// aggregatedList answers GET /aggregated/{collection}: every scope's items, keyed by scope.
func (s *Server) aggregatedList(c *call, t *rtype) ([]byte, error) {
	terms, err := parseFilter(c.query.Get("filter"))
	if err != nil {
		return nil, err
	}
	scoped := map[string][]json.RawMessage{}
	for _, link := range s.sortedLinks() {
		o := s.objects[link]
		if o.typ != t {
			continue
		}
		b, err := c.encode(o.msg)
		if err != nil {
			return nil, err
		}
		if ok, err := matches(terms, b, s.opts.Project); err != nil {
			return nil, err
		} else if ok {
			scoped[o.scope] = append(scoped[o.scope], b)
		}
	}
	items := map[string]any{}
	for scope, list := range scoped {
		items[scope] = map[string]any{t.collection: list}
	}
	return json.Marshal(map[string]any{
		"kind":     "compute#" + strings.TrimPrefix(t.kind, "compute#") + "AggregatedList",
		"id":       "projects/" + s.opts.Project + "/aggregated/" + t.collection,
		"items":    items,
		"selfLink": c.base + "/compute/v1/projects/" + s.opts.Project + "/aggregated/" + t.collection,
	})
}

// paginate cuts one page; the page token is the offset of the next item.
func paginate(items []json.RawMessage, maxResults, token string) ([]json.RawMessage, string, error) {
	size := maxPage
	if maxResults != "" {
		n, err := strconv.Atoi(maxResults)
		if err != nil || n < 0 {
			return nil, "", errInvalidField("maxResults", maxResults, "Must be a non-negative integer.")
		}
		if n > maxPage {
			return nil, "", errInvalidField("maxResults", maxResults, "Must be less than or equal to 500.")
		}
		if n > 0 {
			size = n
		}
	}
	start := 0
	if token != "" {
		n, err := strconv.Atoi(token)
		if err != nil || n < 0 || n > len(items) {
			return nil, "", errInvalidField("pageToken", token, "Invalid page token.")
		}
		start = n
	}
	end := min(start+size, len(items))
	next := ""
	if end < len(items) {
		next = strconv.Itoa(end)
	}
	page := items[start:end]
	if page == nil {
		page = []json.RawMessage{}
	}
	return page, next, nil
}

// term is one comparison of a list filter.
type term struct {
	path  []string
	op    string
	value string
	re    *regexp.Regexp
}

// termRE is one comparison; a field path's segments may hold dashes, as label keys do
// ("labels.cloudlb-cluster-id = x").
var termRE = regexp.MustCompile(`^([A-Za-z][\w.-]*)\s*(!=|=|:|\beq\b|\bne\b)\s*(.*)$`)

// parseFilter reads the subset of GCE's filter language clients use: comparisons
// "field = value", "field != value", "field : value" (":*" tests that a key is set) and the
// regexp forms "field eq re", "field ne re", joined by AND or by parenthesised juxtaposition.
// As Compute, it refuses a filter that mixes the regexp forms with the comparisons.
func parseFilter(f string) ([]term, error) {
	orig := f
	f = strings.NewReplacer("(", "\n", ")", "\n", " AND ", "\n", " and ", "\n").Replace(f)
	var out []term
	for _, clause := range strings.Split(f, "\n") {
		clause = strings.TrimSpace(clause)
		if clause == "" {
			continue
		}
		m := termRE.FindStringSubmatch(clause)
		if m == nil {
			return nil, errInvalidField("filter", clause, "Invalid list filter expression.")
		}
		t := term{path: strings.Split(m[1], "."), op: m[2], value: strings.Trim(strings.TrimSpace(m[3]), `"'`)}
		if t.op == "eq" || t.op == "ne" {
			re, err := regexp.Compile("^(?:" + t.value + ")$")
			if err != nil {
				return nil, errInvalidField("filter", t.value, "Invalid regular expression.")
			}
			t.re = re
		}
		out = append(out, t)
	}
	regexps := slices.ContainsFunc(out, func(t term) bool { return t.re != nil })
	if regexps && slices.ContainsFunc(out, func(t term) bool { return t.re == nil }) {
		return nil, errInvalidField("filter", orig, "Regular expression filters (eq, ne) cannot be mixed with comparisons (=, !=, :).")
	}
	return out, nil
}

// matches evaluates every term against the JSON form of one resource.
func matches(terms []term, item []byte, project string) (bool, error) {
	if len(terms) == 0 {
		return true, nil
	}
	var doc map[string]any
	if err := json.Unmarshal(item, &doc); err != nil {
		return false, fmt.Errorf("fakegce: filter: %w", err)
	}
	for _, t := range terms {
		vals := lookupPath(doc, t.path)
		hit := slices.ContainsFunc(vals, func(v string) bool { return t.match(v, project) })
		if t.op == "!=" || t.op == "ne" {
			hit = !slices.ContainsFunc(vals, func(v string) bool { return t.match(v, project) })
		}
		if !hit {
			return false, nil
		}
	}
	return true, nil
}

func (t term) match(v, project string) bool {
	switch t.op {
	case "eq", "ne":
		return t.re.MatchString(v)
	case ":":
		return t.value == "*" || strings.Contains(v, t.value)
	}
	if strings.Contains(t.value, "*") {
		re := "^" + strings.ReplaceAll(regexp.QuoteMeta(t.value), `\*`, ".*") + "$"
		ok, _ := regexp.MatchString(re, v)
		return ok
	}
	return v == t.value || canonicalLink(project, v) == canonicalLink(project, t.value)
}

// lookupPath collects the scalar values at a dotted path, descending into lists.
func lookupPath(v any, path []string) []string {
	if len(path) == 0 {
		switch x := v.(type) {
		case string:
			return []string{x}
		case []any:
			var out []string
			for _, e := range x {
				out = append(out, lookupPath(e, nil)...)
			}
			return out
		case nil:
			return nil
		default:
			return []string{fmt.Sprint(x)}
		}
	}
	switch x := v.(type) {
	case map[string]any:
		return lookupPath(x[path[0]], path[1:])
	case []any:
		var out []string
		for _, e := range x {
			out = append(out, lookupPath(e, path)...)
		}
		return out
	}
	return nil
}
