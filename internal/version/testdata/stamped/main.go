// Command stamped prints version.Get as JSON; version_test builds it with -ldflags -X to prove
// that the names the Makefile and tools/images stamp are variables -X can set.
package main

import (
	"encoding/json"
	"os"

	"github.com/cloudlb/cloudlb/internal/version"
)

func main() {
	if err := json.NewEncoder(os.Stdout).Encode(version.Get()); err != nil {
		os.Exit(1)
	}
}
