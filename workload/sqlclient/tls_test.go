package sqlclient

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"strings"
	"testing"
	"time"

	"github.com/faultline-dev/faultline/engines"
)

func selfSignedCA(t *testing.T) []byte {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "ca"}, NotBefore: time.Now(), NotAfter: time.Now().Add(time.Hour), IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
}

func TestTLSReachesTheConfig(t *testing.T) {
	ep := engines.Endpoint{Node: "n1", Addr: "10.0.0.1:26257", Database: "defaultdb", User: "root"}
	plain, err := postgres.dsn(ep, connectTimeout)
	if err != nil {
		t.Fatal(err)
	}
	if cfg, err := pgConfig(plain, ep); err != nil || cfg.TLSConfig != nil || !strings.Contains(plain, "sslmode=disable") {
		t.Errorf("plaintext endpoint: dsn %q, TLS %v, %v", plain, cfg.TLSConfig, err)
	}
	ep.TLS = &engines.TLS{CA: selfSignedCA(t)}
	dsn, err := postgres.dsn(ep, connectTimeout)
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := pgConfig(dsn, ep)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.TLSConfig == nil || cfg.TLSConfig.ServerName != "10.0.0.1" || len(cfg.Fallbacks) != 0 {
		t.Errorf("TLS endpoint: TLS %+v, %d fallbacks", cfg.TLSConfig, len(cfg.Fallbacks))
	}
	if my, err := mysqlish.dsn(ep, connectTimeout); err != nil || !strings.Contains(my, "tls=faultline-") {
		t.Errorf("mysql with TLS: dsn %q, %v", my, err)
	}
	ep.TLS = &engines.TLS{CA: []byte("not a certificate")}
	if _, err := pgConfig(dsn, ep); err == nil {
		t.Error("a CA without a certificate was accepted")
	}
}
