package webhook_test

import (
	"bufio"
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/boltfetch/boltfetch/webhook"
)

// newTestServer serves h on loopback with the hardened server's settings.
func newTestServer(t *testing.T, h *webhook.Handler) *httptest.Server {
	t.Helper()
	srv := httptest.NewUnstartedServer(h)
	hs := h.NewServer("")
	srv.Config.ReadHeaderTimeout = hs.ReadHeaderTimeout
	srv.Config.ReadTimeout = hs.ReadTimeout
	srv.Config.WriteTimeout = hs.WriteTimeout
	srv.Config.IdleTimeout = hs.IdleTimeout
	srv.Config.MaxHeaderBytes = hs.MaxHeaderBytes
	srv.Config.ErrorLog = hs.ErrorLog
	srv.Start()
	t.Cleanup(srv.Close)
	return srv
}

func decodeResponse(resp *http.Response, v any) error {
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	if err := json.Unmarshal(b, v); err != nil {
		return fmt.Errorf("answer %d is not JSON: %w: %q", resp.StatusCode, err, b)
	}
	return nil
}

func get(t *testing.T, url string) int {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

func TestNewServerIsHardened(t *testing.T) {
	t.Parallel()
	h := newHandler(t, newMemQueue(), nil)
	s := h.NewServer(":0")
	if s.ReadHeaderTimeout != webhook.DefaultReadHeaderTimeout || s.ReadTimeout != webhook.DefaultReadTimeout ||
		s.WriteTimeout != webhook.DefaultWriteTimeout || s.IdleTimeout != webhook.DefaultIdleTimeout ||
		s.MaxHeaderBytes != webhook.DefaultMaxHeaderBytes || s.ErrorLog == nil || s.TLSConfig != nil {
		t.Fatalf("server not hardened with the defaults: %+v", s)
	}
}

// TestJunkConnections: a 1 MiB header gets 431, a slow-drip body and slow
// headers are cut by the server's timeouts; nothing is queued and /healthz
// stays up.
func TestJunkConnections(t *testing.T) {
	t.Parallel()
	q := newMemQueue()
	h := newHandler(t, q, func(c *webhook.Config) {
		c.ReadHeaderTimeout = 300 * time.Millisecond
		c.ReadTimeout = 500 * time.Millisecond
		c.WriteTimeout = 2 * time.Second
		c.EnqueueTimeout = time.Second
	})
	srv := newTestServer(t, h)
	addr := srv.Listener.Addr().String()
	body := completedPayload(t, 31337)

	t.Run("1 MiB header", func(t *testing.T) {
		conn, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		_ = conn.SetDeadline(time.Now().Add(5 * time.Second))
		go func() {
			fmt.Fprintf(conn, "POST /webhooks/paradime?token=%s HTTP/1.1\r\nHost: x\r\nX-Junk: %s\r\nContent-Length: %d\r\n\r\n%s",
				testToken, strings.Repeat("a", 1<<20), len(body), body)
		}()
		resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusRequestHeaderFieldsTooLarge {
			t.Fatalf("status %d, want 431", resp.StatusCode)
		}
	})

	t.Run("slow-drip body", func(t *testing.T) {
		conn, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		_ = conn.SetDeadline(time.Now().Add(5 * time.Second))
		fmt.Fprintf(conn, "POST /webhooks/paradime HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\nContent-Length: %d\r\n\r\n", testToken, len(body))
		start := time.Now()
		done := make(chan struct{})
		go func() { // one byte every 50 ms: the whole body would take minutes
			defer close(done)
			for _, b := range body {
				if _, err := conn.Write([]byte{b}); err != nil {
					return
				}
				time.Sleep(50 * time.Millisecond)
			}
		}()
		resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode < 400 || resp.StatusCode >= 500 {
				t.Fatalf("status %d, want a 4xx or the connection cut", resp.StatusCode)
			}
		}
		if el := time.Since(start); el > 3*time.Second {
			t.Fatalf("the slow body held the connection %v", el)
		}
		conn.Close()
		<-done
	})

	t.Run("slow headers", func(t *testing.T) {
		conn, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		_ = conn.SetDeadline(time.Now().Add(5 * time.Second))
		start := time.Now()
		fmt.Fprintf(conn, "POST /webhooks/paradime HTTP/1.1\r\nHost: x\r\n")
		for range 3 {
			time.Sleep(150 * time.Millisecond)
			fmt.Fprintf(conn, "X-Slow: 1\r\n")
		}
		_, err = io.ReadAll(conn) // the server closes (or resets) the connection
		var ne net.Error
		if el := time.Since(start); el > 3*time.Second || (errors.As(err, &ne) && ne.Timeout()) {
			t.Fatalf("slow headers held the connection %v (%v)", el, err)
		}
	})

	if n := q.count(); n != 0 {
		t.Fatalf("%d runs queued by junk", n)
	}
	if code := get(t, srv.URL+"/healthz"); code != 200 {
		t.Fatalf("/healthz %d after junk", code)
	}
}

// writeSelfSigned writes a loopback certificate and key, and returns their
// paths and a pool that trusts the certificate.
func writeSelfSigned(t *testing.T) (certFile, keyFile string, pool *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "boltfetch test"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, KeyUsage: x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kb, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	if err := os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kb}), 0o600); err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	pool = x509.NewCertPool()
	pool.AddCert(cert)
	return certFile, keyFile, pool
}

// TestServeTLSAndDrain: Serve speaks TLS with the configured pair, and when
// its context ends it drains first (/readyz 503 during the drain delay,
// deliveries refused) and then returns nil.
func TestServeTLSAndDrain(t *testing.T) {
	t.Parallel()
	certFile, keyFile, pool := writeSelfSigned(t)
	q := newMemQueue()
	h := newHandler(t, q, func(c *webhook.Config) {
		c.TLSCertFile, c.TLSKeyFile = certFile, keyFile
		c.DrainDelay = 400 * time.Millisecond
		c.ShutdownTimeout = time.Second
	})
	if !h.TLS() {
		t.Fatal("TLS not configured")
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- h.Serve(ctx, ln) }()
	client := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	base := "https://" + ln.Addr().String()

	req, _ := http.NewRequest(http.MethodPost, base+"/webhooks/paradime?token="+testToken, bytes.NewReader(completedPayload(t, 5)))
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 202 {
		t.Fatalf("TLS delivery: %d", resp.StatusCode)
	}
	if resp.TLS == nil {
		t.Fatal("answer not over TLS")
	}

	cancel()
	time.Sleep(100 * time.Millisecond) // inside the drain delay
	resp, err = client.Get(base + "/readyz")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 503 {
		t.Fatalf("/readyz while draining: %d", resp.StatusCode)
	}
	req, _ = http.NewRequest(http.MethodPost, base+"/webhooks/paradime?token="+testToken, bytes.NewReader(completedPayload(t, 6)))
	resp, err = client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 503 {
		t.Fatalf("delivery while draining: %d", resp.StatusCode)
	}
	select {
	case err := <-served:
		if err != nil {
			t.Fatalf("Serve: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Serve did not return after its context ended")
	}
	if q.count() != 1 {
		t.Fatalf("%d runs queued, want 1", q.count())
	}
}
