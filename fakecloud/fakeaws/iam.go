package fakeaws

import (
	"bytes"
	"encoding/xml"
	"errors"
	"net/http"
	"reflect"
	"regexp"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/iam"
	iamtypes "github.com/aws/aws-sdk-go-v2/service/iam/types"
)

// IAM (2010-05-08) server certificates, the other store TLS listeners can name. IAM is a
// Query API like ELB: the form's Version selects it and responses are
// <OpResponse><OpResult>, but in IAM's own XML namespace. The rules below come from the
// IAM API reference (see VALIDATIONS.md).

// iamNamespace is the xmlns of IAM responses and errors.
const iamNamespace = "https://iam.amazonaws.com/doc/" + iamVersion + "/"

// iamCert is one server certificate.
type iamCert struct {
	meta        iamtypes.ServerCertificateMetadata
	body, chain string
	tags        []iamtypes.Tag
}

// iamHandlers lists every IAM operation the fake serves.
var iamHandlers = map[string]handler{
	"UploadServerCertificate": iamOp((*Server).iamUpload),
	"GetServerCertificate":    iamOp((*Server).iamGet),
	"ListServerCertificates":  iamOp((*Server).iamList),
	"DeleteServerCertificate": iamOp((*Server).iamDelete),
}

// iamOp adapts a typed IAM operation to a handler and renders its output in IAM's envelope.
func iamOp[I, O any](fn func(*Server, *I) (*O, error)) handler {
	return func(s *Server, req *request) (any, error) {
		var in I
		decodeInput(req.form, &in, false)
		out, err := fn(s, &in)
		if err != nil {
			return nil, err
		}
		var b bytes.Buffer
		b.WriteString(xml.Header)
		b.WriteString("<" + req.action + `Response xmlns="` + iamNamespace + `">`)
		b.WriteString("<" + req.action + "Result>")
		(&xmlEncoder{b: &b}).fields(reflect.ValueOf(out))
		b.WriteString("</" + req.action + "Result>")
		b.WriteString("<ResponseMetadata><RequestId>" + req.id + "</RequestId></ResponseMetadata>")
		b.WriteString("</" + req.action + "Response>")
		return rawBody(b.Bytes()), nil
	}
}

// writeIAMReply writes an IAM response, or an error as IAM's ErrorResponse.
func writeIAMReply(w http.ResponseWriter, id string, body []byte, err error) {
	w.Header().Set("Content-Type", "text/xml")
	w.Header().Set("x-amzn-RequestId", id)
	if err == nil {
		_, _ = w.Write(body)
		return
	}
	var ae *apiError
	if !errors.As(err, &ae) {
		ae = &apiError{Code: "ServiceFailure", Message: err.Error(), Status: http.StatusInternalServerError, Receiver: true}
	}
	kind := "Sender"
	if ae.Receiver {
		kind = "Receiver"
	}
	var b bytes.Buffer
	b.WriteString(xml.Header)
	b.WriteString(`<ErrorResponse xmlns="` + iamNamespace + `"><Error><Type>` + kind + "</Type><Code>")
	_ = xml.EscapeText(&b, []byte(ae.Code))
	b.WriteString("</Code><Message>")
	_ = xml.EscapeText(&b, []byte(ae.Message))
	b.WriteString("</Message></Error><RequestId>" + id + "</RequestId></ErrorResponse>")
	w.WriteHeader(ae.Status)
	_, _ = w.Write(b.Bytes())
}

// Patterns and lengths of the IAM API model's serverCertificateNameType, pathType and
// pathPrefixType; breaking one is a ValidationError like any constraint of a Query API.
var (
	iamNameRE       = regexp.MustCompile(`^[\w+=,.@-]{1,128}$`)
	iamPathRE       = regexp.MustCompile(`^(/|/[\x{21}-\x{7F}]+/)$`)
	iamPathPrefixRE = regexp.MustCompile(`^/[\x{21}-\x{7F}]*$`)
)

func errIAMConstraint(field, value, constraint string) *apiError {
	return errValidation("1 validation error detected: Value '%s' at '%s' failed to satisfy constraint: %s", value, field, constraint)
}

func errNoSuchServerCertificate(name string) *apiError {
	return errf(http.StatusNotFound, "NoSuchEntity", "The Server Certificate with name %s cannot be found.", name)
}

func checkIAMName(name *string) error {
	if n := deref(name); !iamNameRE.MatchString(n) {
		return errIAMConstraint("serverCertificateName", n, `Member must satisfy regular expression pattern: [\w+=,.@-]+ and have length between 1 and 128`)
	}
	return nil
}

func (s *Server) iamUpload(in *iam.UploadServerCertificateInput) (*iam.UploadServerCertificateOutput, error) {
	if err := checkIAMName(in.ServerCertificateName); err != nil {
		return nil, err
	}
	path := deref(in.Path)
	if in.Path == nil {
		path = "/"
	}
	switch {
	case len(path) > 512 || !iamPathRE.MatchString(path):
		return nil, errIAMConstraint("path", path, `Member must satisfy regular expression pattern: (\u002F)|(\u002F[\u0021-\u007F]+\u002F)`)
	case deref(in.CertificateBody) == "" || len(*in.CertificateBody) > 16384:
		return nil, errIAMConstraint("certificateBody", "", "Member must have length between 1 and 16384")
	case deref(in.PrivateKey) == "" || len(*in.PrivateKey) > 16384:
		return nil, errIAMConstraint("privateKey", "", "Member must have length between 1 and 16384")
	case len(deref(in.CertificateChain)) > 2097152:
		return nil, errIAMConstraint("certificateChain", "", "Member must have length less than or equal to 2097152")
	}
	name := *in.ServerCertificateName
	if _, ok := s.certs.iam.get(name); ok {
		return nil, errf(http.StatusConflict, "EntityAlreadyExists", "The Server Certificate with name %s already exists.", name)
	}
	certs, err := parseCertificates([]byte(*in.CertificateBody))
	if err != nil || len(certs) != 1 {
		return nil, bad("MalformedCertificate", "Unable to parse certificate. Please ensure the certificate is in PEM format.")
	}
	leaf := certs[0]
	if time.Now().After(leaf.NotAfter) {
		return nil, bad("MalformedCertificate", "The certificate expired on %s.", leaf.NotAfter.UTC().Format(time.RFC3339))
	}
	key, err := parsePrivateKey([]byte(*in.PrivateKey))
	if err != nil {
		return nil, bad("MalformedCertificate", "Unable to parse private key: %v", err)
	}
	if !keyMatches(leaf, key) {
		return nil, bad("KeyPairMismatch", "Unable to validate certificate: the public key certificate and the private key do not match.")
	}
	if in.CertificateChain != nil {
		chain, err := parseCertificates([]byte(*in.CertificateChain))
		if err != nil {
			return nil, bad("MalformedCertificate", "Unable to parse certificate chain. Please ensure the chain is in PEM format.")
		}
		if !chainCertifies(leaf, chain) {
			return nil, bad("MalformedCertificate", "Unable to validate certificate chain. The certificate chain must start with the immediate signing certificate, followed by any intermediaries in order.")
		}
	}
	c := &iamCert{
		meta: iamtypes.ServerCertificateMetadata{
			Arn:                   ptr("arn:aws:iam::" + s.opts.AccountID + ":server-certificate" + path + name),
			Path:                  ptr(path),
			ServerCertificateId:   ptr(s.iamID()),
			ServerCertificateName: ptr(name),
			Expiration:            ptr(leaf.NotAfter.UTC()),
			UploadDate:            ptr(time.Now().UTC().Truncate(time.Second)),
		},
		body:  *in.CertificateBody,
		chain: deref(in.CertificateChain),
		tags:  append([]iamtypes.Tag{}, in.Tags...),
	}
	s.certs.iam.put(name, c)
	meta := c.meta
	return &iam.UploadServerCertificateOutput{ServerCertificateMetadata: &meta, Tags: in.Tags}, nil
}

func (s *Server) iamCertByName(name *string) (*iamCert, error) {
	if err := checkIAMName(name); err != nil {
		return nil, err
	}
	c, ok := s.certs.iam.get(*name)
	if !ok {
		return nil, errNoSuchServerCertificate(*name)
	}
	return c, nil
}

func (s *Server) iamGet(in *iam.GetServerCertificateInput) (*iam.GetServerCertificateOutput, error) {
	c, err := s.iamCertByName(in.ServerCertificateName)
	if err != nil {
		return nil, err
	}
	meta := c.meta
	sc := &iamtypes.ServerCertificate{ServerCertificateMetadata: &meta, CertificateBody: ptr(c.body), Tags: c.tags}
	if c.chain != "" {
		sc.CertificateChain = ptr(c.chain)
	}
	return &iam.GetServerCertificateOutput{ServerCertificate: sc}, nil
}

func (s *Server) iamList(in *iam.ListServerCertificatesInput) (*iam.ListServerCertificatesOutput, error) {
	prefix := deref(in.PathPrefix)
	if in.PathPrefix == nil {
		prefix = "/"
	}
	if len(prefix) > 512 || !iamPathPrefixRE.MatchString(prefix) {
		return nil, errIAMConstraint("pathPrefix", prefix, `Member must satisfy regular expression pattern: \u002F[\u0021-\u007F]*`)
	}
	size := int(deref(in.MaxItems))
	if in.MaxItems == nil {
		size = 100
	}
	if size < 1 || size > 1000 {
		return nil, errIAMConstraint("maxItems", "", "Member must have value between 1 and 1000")
	}
	var match []iamtypes.ServerCertificateMetadata
	for _, c := range s.certs.iam.list() {
		if strings.HasPrefix(deref(c.meta.Path), prefix) {
			match = append(match, c.meta)
		}
	}
	start, err := markerOffset(in.Marker, len(match))
	if err != nil {
		return nil, err
	}
	end := min(start+size, len(match))
	out := &iam.ListServerCertificatesOutput{ServerCertificateMetadataList: append([]iamtypes.ServerCertificateMetadata{}, match[start:end]...)}
	if end < len(match) {
		out.IsTruncated, out.Marker = true, ptr(marker(end))
	}
	return out, nil
}

func (s *Server) iamDelete(in *iam.DeleteServerCertificateInput) (*iam.DeleteServerCertificateOutput, error) {
	c, err := s.iamCertByName(in.ServerCertificateName)
	if err != nil {
		return nil, err
	}
	if users := s.certUsers(deref(c.meta.Arn)); len(users) > 0 {
		return nil, errf(http.StatusConflict, "DeleteConflict", "Certificate: %s is currently in use by %s. Please remove it first before deleting it from IAM.", deref(c.meta.ServerCertificateId), users[0])
	}
	s.certs.iam.del(*in.ServerCertificateName)
	return &iam.DeleteServerCertificateOutput{}, nil
}

// iamID is a server certificate ID: "ASCA" and 17 upper-case letters or digits.
func (s *Server) iamID() string {
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"
	b := []byte("ASCA")
	for i := 0; i < 17; i++ {
		b = append(b, alphabet[s.rng.IntN(len(alphabet))])
	}
	return string(b)
}
