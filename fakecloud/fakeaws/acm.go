package fakeaws

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/acm"
	acmtypes "github.com/aws/aws-sdk-go-v2/service/acm/types"
	"github.com/aws/smithy-go/middleware"
)

// AWS Certificate Manager (2015-12-08) speaks JSON 1.1, unlike the Query APIs: the
// operation is the X-Amz-Target header "CertificateManager.<Op>", input and output are JSON
// objects whose members are the SDK's field names, blobs are base64 and timestamps epoch
// seconds, and errors are {"__type": code, "message": text}. The rules below come from the
// ACM API reference (see VALIDATIONS.md).

// acmTargetPrefix starts the X-Amz-Target header of every ACM request.
const acmTargetPrefix = "CertificateManager."

// acmCert is one imported certificate; InUseBy is computed when described.
type acmCert struct {
	detail         acmtypes.CertificateDetail
	certPEM, chain []byte
	tags           []acmtypes.Tag
}

// acmHandlers lists every ACM operation the fake serves.
var acmHandlers = map[string]handler{
	"ImportCertificate":   jsonOp((*Server).acmImport),
	"DescribeCertificate": jsonOp((*Server).acmDescribe),
	"GetCertificate":      jsonOp((*Server).acmGet),
	"ListCertificates":    jsonOp((*Server).acmList),
	"DeleteCertificate":   jsonOp((*Server).acmDelete),
}

// readACMRequest recognises an ACM call by its X-Amz-Target header and reads its JSON
// body; it returns a nil request for every other call, which the Query parser decodes.
func readACMRequest(r *http.Request, id string) (*request, error) {
	op, ok := strings.CutPrefix(r.Header.Get("X-Amz-Target"), acmTargetPrefix)
	if !ok {
		return nil, nil
	}
	req := &request{service: ServiceACM, action: op, id: id}
	if r.Method != http.MethodPost {
		// JSON protocols are POST only; AWS documents no code for other methods.
		return req, errf(http.StatusMethodNotAllowed, "InvalidHttpRequest", "The HTTP method %s is not supported; use POST", r.Method)
	}
	body, err := io.ReadAll(r.Body)
	if err != nil {
		return req, bad("SerializationException", "Could not read the request body: %v", err)
	}
	req.body = body
	return req, nil
}

// jsonOp adapts a typed ACM operation to a handler: the SDK's input struct is decoded with
// encoding/json (member names match field names, []byte is base64 on both sides).
func jsonOp[I, O any](fn func(*Server, *I) (*O, error)) handler {
	return func(s *Server, req *request) (any, error) {
		var in I
		if len(req.body) > 0 {
			if err := json.Unmarshal(req.body, &in); err != nil {
				return nil, bad("SerializationException", "Could not parse the request body: %v", err)
			}
		}
		out, err := fn(s, &in)
		if err != nil {
			return nil, err
		}
		v, _ := jsonValue(reflect.ValueOf(out))
		b, err := json.Marshal(v)
		if err != nil {
			return nil, fmt.Errorf("encode ACM %s output: %w", req.action, err)
		}
		return rawBody(b), nil
	}
}

var metadataType = reflect.TypeOf(middleware.Metadata{})

// jsonValue turns an SDK output value into what encoding/json renders as the wire shape;
// ok is false for values the wire leaves out (nil pointers and slices, unset enums).
func jsonValue(v reflect.Value) (any, bool) {
	for v.Kind() == reflect.Pointer || v.Kind() == reflect.Interface {
		if v.IsNil() {
			return nil, false
		}
		v = v.Elem()
	}
	switch v.Kind() {
	case reflect.Struct:
		if v.Type() == timeType {
			return float64(v.Interface().(time.Time).UnixMilli()) / 1000, true
		}
		m := map[string]any{}
		for i := 0; i < v.NumField(); i++ {
			f := v.Type().Field(i)
			if !f.IsExported() || f.Type == metadataType || (f.Type.Kind() == reflect.String && v.Field(i).String() == "") {
				continue
			}
			if x, ok := jsonValue(v.Field(i)); ok {
				m[f.Name] = x
			}
		}
		return m, true
	case reflect.Slice:
		if v.IsNil() {
			return nil, false
		}
		if v.Type().Elem().Kind() == reflect.Uint8 {
			return base64.StdEncoding.EncodeToString(v.Bytes()), true
		}
		out := make([]any, 0, v.Len())
		for i := 0; i < v.Len(); i++ {
			if x, ok := jsonValue(v.Index(i)); ok {
				out = append(out, x)
			}
		}
		return out, true
	case reflect.String:
		return v.String(), true
	case reflect.Bool:
		return v.Bool(), true
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return v.Int(), true
	case reflect.Float32, reflect.Float64:
		return v.Float(), true
	}
	return nil, false
}

// acmCodes renames the Query-style codes of the shared fault and dispatch paths to the
// ones JSON services send.
var acmCodes = map[string]string{
	"Throttling":    "ThrottlingException",
	"InvalidAction": "UnknownOperationException",
	"InternalError": "InternalFailure",
}

// writeJSONReply writes an ACM response or error in the JSON 1.1 protocol.
func writeJSONReply(w http.ResponseWriter, id string, body []byte, err error) {
	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	w.Header().Set("x-amzn-RequestId", id)
	if err == nil {
		_, _ = w.Write(body)
		return
	}
	var ae *apiError
	if !errors.As(err, &ae) {
		ae = &apiError{Code: "InternalFailure", Message: err.Error(), Status: http.StatusInternalServerError}
	}
	code := ae.Code
	if c, ok := acmCodes[code]; ok {
		code = c
	}
	b, _ := json.Marshal(map[string]string{"__type": code, "message": ae.Message})
	w.WriteHeader(ae.Status)
	_, _ = w.Write(b)
}

// acmARNRE is the Arn shape's pattern in the ACM API model.
var acmARNRE = regexp.MustCompile(`^arn:[\w+=/,.@-]+:acm:[\w+=/,.@-]*:[0-9]+:[\w+=,.@-]+(/[\w+=,.@-]+)*$`)

// errACMValidation is the constraint error of JSON services ("1 validation error detected").
func errACMValidation(format string, args ...any) *apiError {
	return bad("ValidationException", format, args...)
}

// acmLookup resolves a CertificateArn: ValidationException when it breaks the model's length
// or pattern, InvalidArnException when it names no certificate resource, and
// ResourceNotFoundException when the account and region hold no such certificate.
func (s *Server) acmLookup(arn *string) (*acmCert, error) {
	a := deref(arn)
	if a == "" {
		return nil, errACMValidation("1 validation error detected: Value null at 'certificateArn' failed to satisfy constraint: Member must not be null")
	}
	if len(a) < 20 || len(a) > 2048 || !acmARNRE.MatchString(a) {
		return nil, errACMValidation("1 validation error detected: Value '%s' at 'certificateArn' failed to satisfy constraint: Member must satisfy regular expression pattern: %s", a, acmARNRE)
	}
	if parts := strings.SplitN(a, ":", 6); !strings.HasPrefix(parts[5], "certificate/") {
		return nil, bad("InvalidArnException", "String '%s' is not a valid ARN.", a)
	}
	c, ok := s.certs.acm.get(a)
	if !ok {
		return nil, bad("ResourceNotFoundException", "Could not find certificate %s.", a)
	}
	return c, nil
}

// acmKeyAlgorithm names the key as ACM does; ok is false for keys ACM cannot import.
func acmKeyAlgorithm(c *x509.Certificate) (acmtypes.KeyAlgorithm, bool) {
	switch pub := c.PublicKey.(type) {
	case *rsa.PublicKey:
		switch n := pub.N.BitLen(); n {
		case 1024, 2048, 3072, 4096:
			return acmtypes.KeyAlgorithm("RSA_" + strconv.Itoa(n)), true
		}
	case *ecdsa.PublicKey:
		switch pub.Curve {
		case elliptic.P256():
			return acmtypes.KeyAlgorithmEcPrime256v1, true
		case elliptic.P384():
			return acmtypes.KeyAlgorithmEcSecp384r1, true
		case elliptic.P521():
			return acmtypes.KeyAlgorithmEcSecp521r1, true
		}
	}
	return "", false
}

// checkImport applies ImportCertificate's documented rules and returns the parsed leaf.
func checkImport(in *acm.ImportCertificateInput, now time.Time) (*x509.Certificate, error) {
	switch {
	case len(in.Certificate) == 0:
		return nil, errACMValidation("1 validation error detected: Value null at 'certificate' failed to satisfy constraint: Member must not be null")
	case len(in.PrivateKey) == 0:
		return nil, errACMValidation("1 validation error detected: Value null at 'privateKey' failed to satisfy constraint: Member must not be null")
	case len(in.Certificate) > 32768:
		return nil, errACMValidation("1 validation error detected: Value at 'certificate' failed to satisfy constraint: Member must have length less than or equal to 32768")
	case len(in.PrivateKey) > 5120:
		return nil, errACMValidation("1 validation error detected: Value at 'privateKey' failed to satisfy constraint: Member must have length less than or equal to 5120")
	}
	certs, err := parseCertificates(in.Certificate)
	if err != nil {
		return nil, errACMValidation("Unable to parse certificate. Please ensure the certificate is in PEM format: %v", err)
	}
	if len(certs) > 1 {
		return nil, errACMValidation("The certificate field contains more than one certificate. You can specify only one certificate in this field.")
	}
	leaf := certs[0]
	switch {
	case leaf.Version != 3:
		return nil, errACMValidation("Only X.509 version 3 certificates can be imported; this one is version %d.", leaf.Version)
	case leaf.Issuer.String() == "":
		return nil, errACMValidation("The certificate's Issuer field must not be empty.")
	case now.Before(leaf.NotBefore):
		return nil, errACMValidation("The certificate is not valid before %s.", leaf.NotBefore.UTC().Format(time.RFC3339))
	case now.After(leaf.NotAfter):
		return nil, errACMValidation("The certificate expired on %s.", leaf.NotAfter.UTC().Format(time.RFC3339))
	}
	if _, ok := acmKeyAlgorithm(leaf); !ok {
		return nil, errACMValidation("The certificate's key algorithm is not supported by ACM.")
	}
	key, err := parsePrivateKey(in.PrivateKey)
	if err != nil {
		return nil, errACMValidation("The private key is not supported: %v", err)
	}
	if !keyMatches(leaf, key) {
		return nil, errACMValidation("The private key does not match the public key in the certificate.")
	}
	if len(in.CertificateChain) > 0 {
		chain, err := parseCertificates(in.CertificateChain)
		if err != nil {
			return nil, errACMValidation("Unable to parse the certificate chain: %v", err)
		}
		if !chainCertifies(leaf, chain) {
			return nil, errACMValidation("Could not validate the certificate with the certificate chain.")
		}
	}
	return leaf, nil
}

func (s *Server) acmImport(in *acm.ImportCertificateInput) (*acm.ImportCertificateOutput, error) {
	now := time.Now().UTC().Truncate(time.Millisecond)
	var prev *acmCert
	if in.CertificateArn != nil {
		// Re-import replaces a certificate in place, keeping its ARN and tags.
		c, err := s.acmLookup(in.CertificateArn)
		if err != nil {
			return nil, err
		}
		prev = c
	}
	leaf, err := checkImport(in, now)
	if err != nil {
		return nil, err
	}
	arn := fmt.Sprintf("arn:aws:acm:%s:%s:certificate/%s", s.opts.Region, s.opts.AccountID, s.uuid())
	tags := append([]acmtypes.Tag{}, in.Tags...)
	if prev != nil {
		arn, tags = deref(prev.detail.CertificateArn), prev.tags
	}
	alg, _ := acmKeyAlgorithm(leaf)
	names := append([]string{}, leaf.DNSNames...)
	if len(names) == 0 && leaf.Subject.CommonName != "" {
		names = []string{leaf.Subject.CommonName}
	}
	d := acmtypes.CertificateDetail{
		CertificateArn:          ptr(arn),
		Type:                    acmtypes.CertificateTypeImported,
		Status:                  acmtypes.CertificateStatusIssued,
		ImportedAt:              ptr(now),
		NotBefore:               ptr(leaf.NotBefore.UTC()),
		NotAfter:                ptr(leaf.NotAfter.UTC()),
		KeyAlgorithm:            alg,
		SignatureAlgorithm:      ptr(acmSignatureAlgorithm(leaf.SignatureAlgorithm)),
		Serial:                  ptr(colonHex(leaf.SerialNumber.Bytes())),
		Subject:                 ptr(leaf.Subject.String()),
		Issuer:                  ptr(issuerName(leaf)),
		RenewalEligibility:      acmtypes.RenewalEligibilityIneligible,
		SubjectAlternativeNames: names,
	}
	if leaf.Subject.CommonName != "" {
		d.DomainName = ptr(leaf.Subject.CommonName)
	} else if len(names) > 0 {
		d.DomainName = ptr(names[0])
	}
	s.certs.acm.put(arn, &acmCert{detail: d, certPEM: append([]byte{}, in.Certificate...), chain: append([]byte{}, in.CertificateChain...), tags: tags})
	return &acm.ImportCertificateOutput{CertificateArn: ptr(arn)}, nil
}

func (s *Server) acmDescribe(in *acm.DescribeCertificateInput) (*acm.DescribeCertificateOutput, error) {
	c, err := s.acmLookup(in.CertificateArn)
	if err != nil {
		return nil, err
	}
	d := c.detail
	d.InUseBy = s.certUsers(deref(d.CertificateArn))
	return &acm.DescribeCertificateOutput{Certificate: &d}, nil
}

func (s *Server) acmGet(in *acm.GetCertificateInput) (*acm.GetCertificateOutput, error) {
	c, err := s.acmLookup(in.CertificateArn)
	if err != nil {
		return nil, err
	}
	out := &acm.GetCertificateOutput{Certificate: ptr(string(c.certPEM))}
	if len(c.chain) > 0 {
		out.CertificateChain = ptr(string(c.chain))
	}
	return out, nil
}

// acmDefaultKeyTypes is what ListCertificates returns without a keyTypes filter.
var acmDefaultKeyTypes = []acmtypes.KeyAlgorithm{acmtypes.KeyAlgorithmRsa1024, acmtypes.KeyAlgorithmRsa2048}

func (s *Server) acmList(in *acm.ListCertificatesInput) (*acm.ListCertificatesOutput, error) {
	size := int(deref(in.MaxItems))
	if in.MaxItems != nil && (size < 1 || size > 1000) {
		return nil, errACMValidation("1 validation error detected: Value '%d' at 'maxItems' failed to satisfy constraint: Member must have value between 1 and 1000", size)
	}
	if in.MaxItems == nil {
		size = 1000
	}
	keyTypes := acmDefaultKeyTypes
	if in.Includes != nil && len(in.Includes.KeyTypes) > 0 {
		keyTypes = in.Includes.KeyTypes
	}
	var match []*acmCert
	for _, c := range s.certs.acm.list() {
		d := c.detail
		if !slices.Contains(keyTypes, d.KeyAlgorithm) || d.DomainName == nil {
			continue // by default only RSA_1024 and RSA_2048 certificates with a domain
		}
		if len(in.CertificateStatuses) > 0 && !slices.Contains(in.CertificateStatuses, d.Status) {
			continue
		}
		match = append(match, c)
	}
	start := 0
	if tok := deref(in.NextToken); tok != "" {
		n, err := strconv.Atoi(strings.TrimPrefix(tok, "acm-page-"))
		if err != nil || !strings.HasPrefix(tok, "acm-page-") || n < 0 || n > len(match) {
			return nil, bad("InvalidArgsException", "Invalid NextToken %q", tok)
		}
		start = n
	}
	end := min(start+size, len(match))
	out := &acm.ListCertificatesOutput{CertificateSummaryList: []acmtypes.CertificateSummary{}}
	for _, c := range match[start:end] {
		d := c.detail
		out.CertificateSummaryList = append(out.CertificateSummaryList, acmtypes.CertificateSummary{
			CertificateArn: d.CertificateArn, DomainName: d.DomainName, SubjectAlternativeNameSummaries: d.SubjectAlternativeNames,
			HasAdditionalSubjectAlternativeNames: ptr(false), Status: d.Status, Type: d.Type, KeyAlgorithm: d.KeyAlgorithm,
			InUse: ptr(len(s.certUsers(deref(d.CertificateArn))) > 0), NotBefore: d.NotBefore, NotAfter: d.NotAfter,
			ImportedAt: d.ImportedAt, RenewalEligibility: d.RenewalEligibility,
		})
	}
	if end < len(match) {
		out.NextToken = ptr("acm-page-" + strconv.Itoa(end))
	}
	return out, nil
}

func (s *Server) acmDelete(in *acm.DeleteCertificateInput) (*acm.DeleteCertificateOutput, error) {
	c, err := s.acmLookup(in.CertificateArn)
	if err != nil {
		return nil, err
	}
	arn := deref(c.detail.CertificateArn)
	if users := s.certUsers(arn); len(users) > 0 {
		return nil, bad("ResourceInUseException", "Certificate %s in account %s is in use by %s.", arn, s.opts.AccountID, strings.Join(users, ", "))
	}
	s.certs.acm.del(arn)
	return &acm.DeleteCertificateOutput{}, nil
}

// acmSignatureAlgorithm renders the algorithm as ACM's CertificateDetail does (SHA256WITHRSA).
func acmSignatureAlgorithm(a x509.SignatureAlgorithm) string {
	switch a {
	case x509.ECDSAWithSHA256:
		return "SHA256WITHECDSA"
	case x509.ECDSAWithSHA384:
		return "SHA384WITHECDSA"
	case x509.ECDSAWithSHA512:
		return "SHA512WITHECDSA"
	}
	return strings.ToUpper(strings.ReplaceAll(a.String(), "-", "WITH"))
}

// issuerName is the organisation of the issuer, or its common name when it has none.
func issuerName(c *x509.Certificate) string {
	if len(c.Issuer.Organization) > 0 {
		return c.Issuer.Organization[0]
	}
	return c.Issuer.CommonName
}

// colonHex renders a serial number as ACM does: lowercase hex bytes joined by colons.
func colonHex(b []byte) string {
	parts := make([]string, len(b))
	for i, x := range b {
		parts[i] = fmt.Sprintf("%02x", x)
	}
	return strings.Join(parts, ":")
}

// uuid is a version-4 UUID drawn from the seeded source, the id part of ACM ARNs.
func (s *Server) uuid() string {
	a, b := s.rng.Uint64(), s.rng.Uint64()
	return fmt.Sprintf("%08x-%04x-4%03x-%04x-%012x", a>>32, (a>>16)&0xffff, a&0xfff, 0x8000|(b>>48)&0x3fff, b&0xffffffffffff)
}
