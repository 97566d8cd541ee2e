package ssimulacra2

import (
	"os"
	"testing"
)

// TestMain removes the pairs generated during the run.
func TestMain(m *testing.M) {
	code := m.Run()
	if genDir != "" {
		os.RemoveAll(genDir)
	}
	os.Exit(code)
}
