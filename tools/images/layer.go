package main

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"encoding/pem"
	"fmt"
	"time"

	"golang.org/x/crypto/x509roots/fallback/bundle"
)

// The non-root user every image runs as, distroless's "nonroot".
const (
	nonRootID   = 65532
	nonRootUser = "65532:65532"
	nonRootHome = "home/nonroot/"
)

// passwd and group name root, nobody and the non-root user, as distroless's static image does.
const (
	passwd = "root:x:0:0:root:/root:/sbin/nologin\n" +
		"nobody:x:65534:65534:nobody:/nonexistent:/sbin/nologin\n" +
		"nonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin\n"
	group = "root:x:0:\n" +
		"nobody:x:65534:\n" +
		"nonroot:x:65532:\n"
)

// binDir is where the binary lies; the image's Entrypoint.
const binDir = "usr/local/bin/"

// caBundlePath is where crypto/x509 looks first on Linux.
const caBundlePath = "etc/ssl/certs/ca-certificates.crt"

// entry is one file or directory of a layer. Directories end in "/".
type entry struct {
	name string
	mode int64
	uid  int // and gid; 0 but for the non-root user's home
	data []byte
}

// entries are the layer of one binary's image, parents before children.
func entries(name string, binary, caBundle []byte) []entry {
	dir := func(name string, mode int64) entry { return entry{name: name, mode: mode} }
	return []entry{
		dir("etc/", 0o755),
		{name: "etc/group", mode: 0o644, data: []byte(group)},
		{name: "etc/passwd", mode: 0o644, data: []byte(passwd)},
		dir("etc/ssl/", 0o755),
		dir("etc/ssl/certs/", 0o755),
		{name: caBundlePath, mode: 0o644, data: caBundle},
		dir("home/", 0o755),
		{name: nonRootHome, mode: 0o700, uid: nonRootID},
		dir("tmp/", 0o1777),
		dir("usr/", 0o755),
		dir("usr/local/", 0o755),
		dir(binDir, 0o755),
		{name: binDir + name, mode: 0o755, data: binary},
	}
}

// gzipLayer is the gzip-compressed tar of es. Everything that could differ between two
// machines is fixed: each header's time is mtime, owners are numeric only (no user or group
// names), the format is USTAR (no PAX records of access or change times), and the gzip header
// has no name or time.
func gzipLayer(es []entry, mtime time.Time) ([]byte, error) {
	var buf bytes.Buffer
	zw, err := gzip.NewWriterLevel(&buf, gzip.DefaultCompression)
	if err != nil {
		return nil, err
	}
	tw := tar.NewWriter(zw)
	for _, e := range es {
		hdr := &tar.Header{
			Name:    e.name,
			Mode:    e.mode,
			Uid:     e.uid,
			Gid:     e.uid,
			ModTime: mtime.UTC().Truncate(time.Second),
			Format:  tar.FormatUSTAR,
		}
		if e.name[len(e.name)-1] == '/' {
			hdr.Typeflag = tar.TypeDir
		} else {
			hdr.Typeflag = tar.TypeReg
			hdr.Size = int64(len(e.data))
		}
		if err := tw.WriteHeader(hdr); err != nil {
			return nil, fmt.Errorf("%s: %w", e.name, err)
		}
		if _, err := tw.Write(e.data); err != nil {
			return nil, fmt.Errorf("%s: %w", e.name, err)
		}
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	if err := zw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// caBundle is the PEM bundle of the Mozilla NSS roots that golang.org/x/crypto/x509roots/fallback
// embeds: the same bytes on every machine for one version in go.sum, unlike the host's
// /etc/ssl. Roots NSS trusts only with a constraint (certificates issued before a distrust
// date) are left out: a PEM file cannot carry the constraint, and trusting them fully would
// trust more than NSS does.
func caBundle() []byte {
	var buf bytes.Buffer
	for root := range bundle.Roots() {
		if root.Constraint != nil {
			continue
		}
		// pem.Encode only fails on a header with a colon; there is none.
		_ = pem.Encode(&buf, &pem.Block{Type: "CERTIFICATE", Bytes: root.Certificate})
	}
	return buf.Bytes()
}
