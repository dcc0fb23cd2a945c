package annotations

func gceKeys() []*Descriptor { return nil }
