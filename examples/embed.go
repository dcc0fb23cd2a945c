// Package examples embeds the demo manifests so `cloudlb demo` runs anywhere, and holds one
// valid manifest per feature area and cloud (linted by `make test`).
package examples

import "embed"

// Demo holds demo/*.yaml: the Services `cloudlb demo` applies, one of them deliberately invalid.
//
//go:embed demo/*.yaml
var Demo embed.FS
