package fakeaws

import (
	"bytes"
	"encoding/xml"
	"net/http"
	"net/url"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode"
)

// The wire format is driven by reflection over the SDK's own input and output structs,
// so the fake decodes exactly the fields the SDK sends and encodes the fields it reads:
//   - AWS Query (ELB, ELBv2): member names are the Go field names; lists are wrapped,
//     "Names.member.1" in requests and <Names><member>..</member></Names> in responses;
//     responses are <OpResponse><OpResult>..</OpResult><ResponseMetadata>.
//   - EC2 Query: lists are flat ("Filter.1.Value.1", "SubnetId.1") and several request
//     names differ from the field names (ec2QueryName); response elements are
//     lowerCamelCase with <item> list entries, and many list names end in "Set"
//     (<vpcSet>, <tagSet>); responses are <OpResponse><requestId>..</requestId>...
// The name tables below were read from the SDK's ec2 serializers.go/deserializers.go.

// ec2QueryNames maps "InputType.Field" (or "Field" for every type) to the EC2 query key.
var ec2QueryNames = map[string]string{
	"Filter.Values":                                        "Value",
	"IpPermission.UserIdGroupPairs":                        "Groups",
	"TagSpecification.Tags":                                "Tag",
	"TagSpecifications":                                    "TagSpecification",
	"Filters":                                              "Filter",
	"CreateSecurityGroupInput.Description":                 "GroupDescription",
	"CreateTagsInput.Resources":                            "ResourceId",
	"CreateTagsInput.Tags":                                 "Tag",
	"DeleteTagsInput.Resources":                            "ResourceId",
	"DeleteTagsInput.Tags":                                 "Tag",
	"DescribeAvailabilityZonesInput.ZoneIds":               "ZoneId",
	"DescribeAvailabilityZonesInput.ZoneNames":             "ZoneName",
	"DescribeInstancesInput.InstanceIds":                   "InstanceId",
	"DescribeRouteTablesInput.RouteTableIds":               "RouteTableId",
	"DescribeSecurityGroupRulesInput.SecurityGroupRuleIds": "SecurityGroupRuleId",
	"DescribeSecurityGroupsInput.GroupIds":                 "GroupId",
	"DescribeSecurityGroupsInput.GroupNames":               "GroupName",
	"DescribeSubnetsInput.SubnetIds":                       "SubnetId",
	"DescribeVpcsInput.VpcIds":                             "VpcId",
	"RevokeSecurityGroupIngressInput.SecurityGroupRuleIds": "SecurityGroupRuleId",
	"RunInstancesInput.SecurityGroupIds":                   "SecurityGroupId",
	"RunInstancesInput.SecurityGroups":                     "SecurityGroup",
	"DescribeInternetGatewaysInput.InternetGatewayIds":     "InternetGatewayId",
	"TerminateInstancesInput.InstanceIds":                  "InstanceId",
}

// ec2XMLNames maps "OutputType.Field" (or "Field" for every type) to the EC2 response element.
var ec2XMLNames = map[string]string{
	"Tags":                                                       "tagSet",
	"AvailabilityZone.State":                                     "zoneState",
	"Instance.PublicDnsName":                                     "dnsName",
	"Instance.PublicIpAddress":                                   "ipAddress",
	"Instance.SecurityGroups":                                    "groupSet",
	"Instance.State":                                             "instanceState",
	"Instance.StateTransitionReason":                             "reason",
	"Instance.NetworkInterfaces":                                 "networkInterfaceSet",
	"InternetGateway.Attachments":                                "attachmentSet",
	"IpPermission.UserIdGroupPairs":                              "groups",
	"Reservation.Groups":                                         "groupSet",
	"Reservation.Instances":                                      "instancesSet",
	"RouteTable.Associations":                                    "associationSet",
	"RouteTable.Routes":                                          "routeSet",
	"SecurityGroup.Description":                                  "groupDescription",
	"Vpc.CidrBlockAssociationSet":                                "cidrBlockAssociationSet",
	"AuthorizeSecurityGroupIngressOutput.SecurityGroupRules":     "securityGroupRuleSet",
	"DescribeAvailabilityZonesOutput.AvailabilityZones":          "availabilityZoneInfo",
	"DescribeInstancesOutput.Reservations":                       "reservationSet",
	"DescribeRouteTablesOutput.RouteTables":                      "routeTableSet",
	"DescribeSecurityGroupRulesOutput.SecurityGroupRules":        "securityGroupRuleSet",
	"DescribeSecurityGroupsOutput.SecurityGroups":                "securityGroupInfo",
	"DescribeSubnetsOutput.Subnets":                              "subnetSet",
	"DescribeVpcsOutput.Vpcs":                                    "vpcSet",
	"DescribeInternetGatewaysOutput.InternetGateways":            "internetGatewaySet",
	"RevokeSecurityGroupIngressOutput.RevokedSecurityGroupRules": "revokedSecurityGroupRuleSet",
	"RevokeSecurityGroupIngressOutput.UnknownIpPermissions":      "unknownIpPermissionSet",
	"RunInstancesOutput.Groups":                                  "groupSet",
	"RunInstancesOutput.Instances":                               "instancesSet",
	"TerminateInstancesOutput.TerminatingInstances":              "instancesSet",
}

// decodeInput fills the SDK input struct dst (a pointer) from the form.
func decodeInput(form url.Values, dst any, ec2 bool) {
	d := formDecoder{form: form, ec2: ec2}
	d.keys = make([]string, 0, len(form))
	for k := range form {
		d.keys = append(d.keys, k)
	}
	sort.Strings(d.keys)
	d.decodeStruct("", reflect.ValueOf(dst).Elem())
}

type formDecoder struct {
	form url.Values
	keys []string
	ec2  bool
}

func (d *formDecoder) hasPrefix(p string) bool {
	i := sort.SearchStrings(d.keys, p)
	return i < len(d.keys) && strings.HasPrefix(d.keys[i], p)
}

// indices lists the N of every "<base>N" or "<base>N.x" key, sorted.
func (d *formDecoder) indices(base string) []int {
	seen := map[int]bool{}
	i := sort.SearchStrings(d.keys, base)
	for ; i < len(d.keys) && strings.HasPrefix(d.keys[i], base); i++ {
		rest := d.keys[i][len(base):]
		num, _, _ := strings.Cut(rest, ".")
		if n, err := strconv.Atoi(num); err == nil && n > 0 {
			seen[n] = true
		}
	}
	out := make([]int, 0, len(seen))
	for n := range seen {
		out = append(out, n)
	}
	sort.Ints(out)
	return out
}

func (d *formDecoder) fieldKey(t reflect.Type, f reflect.StructField) string {
	if !d.ec2 {
		return f.Name
	}
	if n, ok := ec2QueryNames[t.Name()+"."+f.Name]; ok {
		return n
	}
	if n, ok := ec2QueryNames[f.Name]; ok {
		return n
	}
	return f.Name
}

func (d *formDecoder) decodeStruct(prefix string, v reflect.Value) {
	t := v.Type()
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		if !f.IsExported() {
			continue
		}
		d.decodeValue(prefix+d.fieldKey(t, f), v.Field(i))
	}
}

func (d *formDecoder) decodeValue(key string, v reflect.Value) {
	switch v.Kind() {
	case reflect.Pointer:
		if v.Type().Elem().Kind() == reflect.Struct {
			if !d.hasPrefix(key + ".") {
				return
			}
			p := reflect.New(v.Type().Elem())
			d.decodeStruct(key+".", p.Elem())
			v.Set(p)
			return
		}
		if _, ok := d.form[key]; !ok {
			return
		}
		p := reflect.New(v.Type().Elem())
		setScalar(p.Elem(), d.form.Get(key))
		v.Set(p)
	case reflect.Slice:
		base := key + ".member."
		if d.ec2 {
			base = key + "."
		}
		idx := d.indices(base)
		if len(idx) == 0 {
			// The ELB APIs' SDK clients send an empty (non-nil) list as "Tags=" with no
			// members; decoding it as an empty, non-nil slice lets the handlers answer as
			// AWS does for a list that is present but shorter than its minimum.
			if _, ok := d.form[key]; ok && !d.ec2 {
				v.Set(reflect.MakeSlice(v.Type(), 0, 0))
			}
			return
		}
		s := reflect.MakeSlice(v.Type(), len(idx), len(idx))
		for j, n := range idx {
			item := base + strconv.Itoa(n)
			if s.Index(j).Kind() == reflect.Struct {
				d.decodeStruct(item+".", s.Index(j))
			} else {
				d.decodeValue(item, s.Index(j))
			}
		}
		v.Set(s)
	case reflect.Struct:
		if d.hasPrefix(key + ".") {
			d.decodeStruct(key+".", v)
		}
	case reflect.Map:
		// No operation the fake serves takes a map.
	default:
		if val, ok := d.form[key]; ok && len(val) > 0 {
			setScalar(v, val[0])
		}
	}
}

func setScalar(v reflect.Value, s string) {
	switch v.Kind() {
	case reflect.String:
		v.SetString(s)
	case reflect.Bool:
		v.SetBool(s == "true")
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		n, _ := strconv.ParseInt(s, 10, 64)
		v.SetInt(n)
	case reflect.Float32, reflect.Float64:
		f, _ := strconv.ParseFloat(s, 64)
		v.SetFloat(f)
	case reflect.Struct:
		if v.Type() == reflect.TypeOf(time.Time{}) {
			t, _ := time.Parse(time.RFC3339, s)
			v.Set(reflect.ValueOf(t))
		}
	}
}

// encodeResponse renders an SDK output struct in the service's response envelope.
func encodeResponse(req *request, out any) ([]byte, error) {
	var b bytes.Buffer
	b.WriteString(xml.Header)
	// A Describe call's result lists are written even when empty (<vpcSet/>,
	// <LoadBalancers/>), as AWS writes them.
	e := xmlEncoder{b: &b, ec2: req.service == ServiceEC2, emptyLists: strings.HasPrefix(req.action, "Describe")}
	switch req.service {
	case ServiceEC2:
		b.WriteString("<" + req.action + `Response xmlns="http://ec2.amazonaws.com/doc/` + ec2Version + `/">`)
		b.WriteString("<requestId>" + req.id + "</requestId>")
		e.fields(reflect.ValueOf(out))
		b.WriteString("</" + req.action + "Response>")
	default:
		version := elbVersion
		if req.service == ServiceELBv2 {
			version = elbv2Version
		}
		b.WriteString("<" + req.action + `Response xmlns="http://elasticloadbalancing.amazonaws.com/doc/` + version + `/">`)
		b.WriteString("<" + req.action + "Result>")
		e.fields(reflect.ValueOf(out))
		b.WriteString("</" + req.action + "Result>")
		b.WriteString("<ResponseMetadata><RequestId>" + req.id + "</RequestId></ResponseMetadata>")
		b.WriteString("</" + req.action + "Response>")
	}
	return b.Bytes(), nil
}

type xmlEncoder struct {
	b   *bytes.Buffer
	ec2 bool
	// emptyLists writes the output's own nil list fields as empty elements; nested ones
	// stay absent, as AWS leaves out most empty lists inside objects.
	emptyLists bool
}

var timeType = reflect.TypeOf(time.Time{})

func (e *xmlEncoder) name(t reflect.Type, f reflect.StructField) string {
	if !e.ec2 {
		return f.Name
	}
	if n, ok := ec2XMLNames[t.Name()+"."+f.Name]; ok {
		return n
	}
	if n, ok := ec2XMLNames[f.Name]; ok {
		return n
	}
	r := []rune(f.Name)
	r[0] = unicode.ToLower(r[0])
	return string(r)
}

// fields writes every exported field of the struct v points to.
func (e *xmlEncoder) fields(v reflect.Value) {
	for v.Kind() == reflect.Pointer {
		if v.IsNil() {
			return
		}
		v = v.Elem()
	}
	t := v.Type()
	top := e.emptyLists
	e.emptyLists = false
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		if !f.IsExported() || strings.HasSuffix(f.Type.PkgPath(), "smithy-go/middleware") {
			continue
		}
		fv := v.Field(i)
		if top && fv.Kind() == reflect.Slice && fv.Type().Elem().Kind() != reflect.Uint8 && fv.Len() == 0 {
			e.b.WriteString("<" + e.name(t, f) + "/>")
			continue
		}
		e.value(e.name(t, f), fv)
	}
}

func (e *xmlEncoder) value(name string, v reflect.Value) {
	for v.Kind() == reflect.Pointer {
		if v.IsNil() {
			return
		}
		v = v.Elem()
	}
	switch v.Kind() {
	case reflect.Struct:
		if v.Type() == timeType {
			e.text(name, v.Interface().(time.Time).UTC().Format("2006-01-02T15:04:05.000Z"))
			return
		}
		e.b.WriteString("<" + name + ">")
		e.fields(v)
		e.b.WriteString("</" + name + ">")
	case reflect.Slice:
		if v.Type().Elem().Kind() == reflect.Uint8 {
			return
		}
		if v.IsNil() {
			return
		}
		item := "member"
		if e.ec2 {
			item = "item"
		}
		e.b.WriteString("<" + name + ">")
		for i := 0; i < v.Len(); i++ {
			e.value(item, v.Index(i))
		}
		e.b.WriteString("</" + name + ">")
	case reflect.Map, reflect.Interface, reflect.Func, reflect.Chan:
		// Not part of any shape the fake returns.
	case reflect.String:
		e.text(name, v.String())
	case reflect.Bool:
		e.text(name, strconv.FormatBool(v.Bool()))
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		e.text(name, strconv.FormatInt(v.Int(), 10))
	case reflect.Float32, reflect.Float64:
		e.text(name, strconv.FormatFloat(v.Float(), 'f', -1, 64))
	}
}

func (e *xmlEncoder) text(name, s string) {
	e.b.WriteString("<" + name + ">")
	_ = xml.EscapeText(e.b, []byte(s))
	e.b.WriteString("</" + name + ">")
}

// writeError renders err in the service's error envelope with its HTTP status.
func writeError(w http.ResponseWriter, service, id string, err error) {
	ae, ok := err.(*apiError)
	if !ok {
		ae = &apiError{Code: "InternalError", Message: err.Error(), Status: http.StatusInternalServerError}
	}
	var b bytes.Buffer
	b.WriteString(xml.Header)
	if service == ServiceEC2 {
		b.WriteString("<Response><Errors><Error><Code>")
		_ = xml.EscapeText(&b, []byte(ae.Code))
		b.WriteString("</Code><Message>")
		_ = xml.EscapeText(&b, []byte(ae.Message))
		b.WriteString("</Message></Error></Errors><RequestID>" + id + "</RequestID></Response>")
	} else {
		kind := "Sender"
		if ae.Receiver {
			kind = "Receiver"
		}
		version := elbVersion
		if service == ServiceELBv2 {
			version = elbv2Version
		}
		b.WriteString(`<ErrorResponse xmlns="http://elasticloadbalancing.amazonaws.com/doc/` + version + `/"><Error><Type>` + kind + "</Type><Code>")
		_ = xml.EscapeText(&b, []byte(ae.Code))
		b.WriteString("</Code><Message>")
		_ = xml.EscapeText(&b, []byte(ae.Message))
		b.WriteString("</Message></Error><RequestId>" + id + "</RequestId></ErrorResponse>")
	}
	w.Header().Set("Content-Type", "text/xml;charset=UTF-8")
	w.Header().Set("x-amzn-RequestId", id)
	w.WriteHeader(ae.Status)
	_, _ = w.Write(b.Bytes())
}
