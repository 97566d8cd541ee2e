package broker

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
)

// selfSigned writes a certificate for 127.0.0.1 and its key.
func selfSigned(t *testing.T, dir string) (cert, key string) {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "av1job test"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, IsCA: true, BasicConstraintsValid: true,
		KeyUsage: x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &k.PublicKey, k)
	if err != nil {
		t.Fatal(err)
	}
	kb, err := x509.MarshalECPrivateKey(k)
	if err != nil {
		t.Fatal(err)
	}
	cert, key = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	if err := os.WriteFile(cert, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(key, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kb}), 0o600); err != nil {
		t.Fatal(err)
	}
	return cert, key
}

// TestTLSAndToken: with TLS, a client that trusts the certificate and
// has the token gets in; one without the token, or that does not trust
// the certificate, does not.
func TestTLSAndToken(t *testing.T) {
	dir := t.TempDir()
	tok, err := Token(filepath.Join(dir, "token"))
	if err != nil {
		t.Fatal(err)
	}
	cert, key := selfSigned(t, dir)
	s, err := Start(Config{Dir: dir, Listen: "127.0.0.1:0", Token: tok, TLSCert: cert, TLSKey: key})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Shutdown()
	if !strings.HasPrefix(s.URL(), "tls://127.0.0.1:") {
		t.Errorf("URL %s: want tls://127.0.0.1:PORT", s.URL())
	}
	for _, tc := range []struct {
		name string
		opts []nats.Option
		ok   bool
	}{
		{"token and CA", []nats.Option{nats.Token(tok), nats.RootCAs(cert)}, true},
		{"no token", []nats.Option{nats.RootCAs(cert)}, false},
		{"wrong token", []nats.Option{nats.Token("x" + tok), nats.RootCAs(cert)}, false},
		{"certificate not trusted", []nats.Option{nats.Token(tok)}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			nc, err := nats.Connect(s.URL(), append(tc.opts, nats.Timeout(2*time.Second))...)
			if err == nil {
				nc.Close()
			}
			if (err == nil) != tc.ok {
				t.Errorf("connect: %v, want success %v", err, tc.ok)
			}
		})
	}
}

func TestToken(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "token")
	a, err := Token(p)
	if err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(p)
	if err != nil || fi.Mode().Perm() != 0o600 || len(a) != 64 {
		t.Fatalf("token %q, file %v %v: want 64 hex digits in a 0600 file", a, fi.Mode(), err)
	}
	if b, err := Token(p); err != nil || b != a {
		t.Errorf("the token changed on a second call: %q %v", b, err)
	}
	if err := os.Chmod(p, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := Token(p); err == nil || !strings.Contains(err.Error(), "readable by others") {
		t.Errorf("a token others may read: %v", err)
	}
	if _, err := Start(Config{Dir: dir, Listen: "127.0.0.1:0"}); err == nil {
		t.Error("a server without a token started")
	}
}
