package process

import (
	"fmt"
	"net"
)

// FreePorts returns n distinct loopback TCP ports that were free a moment ago. Another process
// may take one before the caller binds it: retry the start when the child reports "address
// already in use".
func FreePorts(n int) ([]int, error) {
	ports := make([]int, 0, n)
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, fmt.Errorf("pick a free port: %w", err)
		}
		defer l.Close() // hold all n until the end so they are distinct
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	return ports, nil
}
