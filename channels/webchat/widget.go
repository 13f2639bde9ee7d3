package webchat

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	_ "embed"
	"encoding/hex"
	"net/http"
	"strconv"
	"strings"
)

//go:embed widget/webchat.js
var widgetJS []byte

// widget is the script with its ETag and a gzipped copy, computed once.
type widget struct {
	plain, gz []byte
	etag      string
}

func newWidget() *widget {
	sum := sha256.Sum256(widgetJS)
	var b bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&b, gzip.BestCompression)
	_, _ = zw.Write(widgetJS)
	_ = zw.Close()
	return &widget{plain: widgetJS, gz: b.Bytes(), etag: `"` + hex.EncodeToString(sum[:12]) + `"`}
}

// GzipSize is the size of the widget as served to browsers (gzip), in bytes.
func GzipSize() int { return len(newWidget().gz) }

// serveWidget serves webchat.js: cacheable for an hour and revalidated by ETag afterwards
// (a new gateway version changes the ETag), gzipped for clients that accept it. A script
// tag needs no CORS; Cross-Origin-Resource-Policy lets sites with COEP embed it.
func (c *Channel) serveWidget(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Content-Type", "text/javascript; charset=utf-8")
	h.Set("Cache-Control", "public, max-age=3600")
	h.Set("ETag", c.widget.etag)
	h.Set("Vary", "Accept-Encoding")
	h.Set("Cross-Origin-Resource-Policy", "cross-origin")
	h.Set("X-Content-Type-Options", "nosniff")
	if inm := r.Header.Get("If-None-Match"); inm != "" {
		for _, t := range strings.Split(inm, ",") {
			if t = strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(t), "W/")); t == c.widget.etag || t == "*" {
				w.WriteHeader(http.StatusNotModified)
				return
			}
		}
	}
	body := c.widget.plain
	if acceptsGzip(r.Header.Get("Accept-Encoding")) {
		body = c.widget.gz
		h.Set("Content-Encoding", "gzip")
	}
	h.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(http.StatusOK)
	if r.Method != http.MethodHead {
		_, _ = w.Write(body)
	}
}

func acceptsGzip(ae string) bool {
	for _, p := range strings.Split(ae, ",") {
		name, params, _ := strings.Cut(strings.TrimSpace(p), ";")
		if strings.EqualFold(strings.TrimSpace(name), "gzip") {
			if q, ok := strings.CutPrefix(strings.ReplaceAll(params, " ", ""), "q="); ok {
				v, err := strconv.ParseFloat(q, 64)
				return err == nil && v > 0
			}
			return true
		}
	}
	return false
}
