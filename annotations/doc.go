// Package annotations is the single registry of every Service annotation cloudlb understands.
//
// Each key is declared once as a Descriptor (key, owning cloud, type, default, allowed values or
// range, deprecated aliases, documentation, and what a change after creation does). Parse reads a
// Service's annotations exactly once, validates every value against its descriptor, and returns a
// typed per-cloud Config together with field-level Problems. No other package reads
// svc.Annotations; docs/annotations.md is generated from the registry.
package annotations
