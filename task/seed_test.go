package task

import (
	"os"
	"strconv"
	"testing"
	"time"
)

// seedFromEnv returns the random seed of a test: AV1JOB_SEED when set (to
// replay a run), else a new one. It is logged either way.
func seedFromEnv(t *testing.T) uint64 {
	t.Helper()
	seed := uint64(time.Now().UnixNano())
	if s := os.Getenv("AV1JOB_SEED"); s != "" {
		v, err := strconv.ParseUint(s, 10, 64)
		if err != nil {
			t.Fatalf("AV1JOB_SEED=%q: %v", s, err)
		}
		seed = v
	}
	t.Logf("seed %d (replay with AV1JOB_SEED=%d)", seed, seed)
	return seed
}
