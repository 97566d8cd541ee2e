package server

import (
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"testing"
)

// TestMain lets the test binary stand in for a client of another user:
// with AV1JOB_TEST_REQUEST="METHOD URL [BODY]" it sends that request
// (with AV1JOB_TEST_TOKEN as its token, when set), prints the answer's
// status and body and exits.
func TestMain(m *testing.M) {
	if req := os.Getenv("AV1JOB_TEST_REQUEST"); req != "" {
		os.Exit(request(req, os.Getenv("AV1JOB_TEST_TOKEN")))
	}
	os.Exit(m.Run())
}

func request(spec, token string) int {
	f := strings.SplitN(spec, " ", 3)
	var body io.Reader
	if len(f) == 3 {
		body = strings.NewReader(f[2])
	}
	req, err := http.NewRequest(f[0], f[1], body)
	if err != nil {
		fmt.Println(err)
		return 1
	}
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		fmt.Println(err)
		return 1
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	fmt.Printf("%d %s", resp.StatusCode, b)
	return 0
}
