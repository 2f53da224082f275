package e2e

import (
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// Headless Chromium loads the grid of 16 cameras over HTTPS: the page
// comes over HTTP/2 and every tile's picture keeps changing.
func TestBrowserGridOverHTTPS(t *testing.T) {
	c := edgeStartCapture(t, edgeTestCameras("sec", 16))
	e := edgeStartHTTPS(t, []string{c.grpcAddr})
	leaf, err := x509.ParseCertificate(mustReadDER(t, e.certFile))
	if err != nil {
		t.Fatal(err)
	}
	// Trust exactly the edge's key, as a browser trusting its CA would.
	spki := sha256.Sum256(leaf.RawSubjectPublicKeyInfo)
	b := browserStart(t, chromedp.Flag("ignore-certificate-errors-spki-list", base64.StdEncoding.EncodeToString(spki[:])))

	b.do(t, 30*time.Second, chromedp.Navigate(e.url+"/grid"), chromedp.WaitVisible(".grid"))
	if got := b.text(t, `performance.getEntriesByType("navigation")[0].nextHopProtocol`); got != "h2" {
		t.Errorf("the grid came over %q, want h2", got)
	}
	b.requireLiveImages(t, ".grid img[data-camera]", 16)
	b.screenshot(t, "grid-https.png")
	if errs := b.exceptions(); len(errs) > 0 {
		t.Errorf("JavaScript exceptions on the grid over HTTPS:\n%s", strings.Join(errs, "\n"))
	}
}
