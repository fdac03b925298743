// Package docsui serves /docs: Swagger UI over the gateway's contract,
// from files embedded in the binary (no CDN: the gateway often runs where
// the internet is out of reach), under a Content-Security-Policy that
// allows nothing but the gateway's own scripts, styles and API.
package docsui

import (
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"io/fs"
	"mime"
	"net/http"
	"path"
	"strconv"

	"github.com/go-chi/chi/v5"

	"github.com/partnerhub/gateway/internal/middleware"
	"github.com/partnerhub/gateway/internal/problem"
)

// assets are swagger-ui-dist's files (see assets/VERSION) plus the page's
// own init.js.
//
//go:embed assets/swagger-ui-bundle.js assets/swagger-ui.css assets/favicon-32x32.png assets/init.js
var assets embed.FS

// CSP is the policy of the page and its assets: scripts, styles and
// requests only to the gateway itself (the contract and "Try it out"),
// no inline script, no framing, no plugins.
const CSP = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; font-src 'self'; " +
	"connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"

// Links are relative, so the page also works behind a path prefix: /docs
// loads docs/assets/... and the contract from openapi.yaml next to it.
var page = []byte(`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Customer / tenant / license gateway API</title>
<link rel="stylesheet" href="docs/assets/swagger-ui.css">
<link rel="icon" type="image/png" href="docs/assets/favicon-32x32.png">
</head>
<body>
<noscript>This page needs JavaScript; the contract itself is at <a href="openapi.yaml">openapi.yaml</a>.</noscript>
<div id="swagger-ui" data-spec-url="openapi.yaml"></div>
<script src="docs/assets/swagger-ui-bundle.js"></script>
<script src="docs/assets/init.js"></script>
</body>
</html>
`)

func secure(h http.Header) {
	h.Set("Content-Security-Policy", CSP)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer")
}

// Page (operationId getDocs) is the documentation page.
func Page() http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		secure(w.Header())
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Header().Set("Cache-Control", "no-cache")
		w.Header().Set("Content-Length", strconv.Itoa(len(page)))
		_, _ = w.Write(page)
	}
}

type asset struct {
	body        []byte
	contentType string
	etag        string
}

// Assets (operationId getDocsAsset) serves the page's files by name, from
// the route parameter {file}. They change only with the binary, so they
// carry a content ETag.
func Assets() http.HandlerFunc {
	files := map[string]asset{}
	err := fs.WalkDir(assets, "assets", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := assets.ReadFile(p)
		if err != nil {
			return err
		}
		sum := sha256.Sum256(b)
		files[path.Base(p)] = asset{body: b, contentType: mime.TypeByExtension(path.Ext(p)), etag: `"` + hex.EncodeToString(sum[:8]) + `"`}
		return nil
	})
	if err != nil {
		panic("docsui: embedded assets unreadable: " + err.Error()) // a broken build, not a runtime condition
	}
	return func(w http.ResponseWriter, r *http.Request) {
		a, ok := files[chi.URLParam(r, "file")]
		if !ok {
			problem.Write(w, middleware.RequestID(r.Context()), problem.NotFound("no documentation asset named "+chi.URLParam(r, "file")))
			return
		}
		secure(w.Header())
		w.Header().Set("Content-Type", a.contentType)
		w.Header().Set("Cache-Control", "public, max-age=3600")
		w.Header().Set("ETag", a.etag)
		if r.Header.Get("If-None-Match") == a.etag {
			w.WriteHeader(http.StatusNotModified)
			return
		}
		w.Header().Set("Content-Length", strconv.Itoa(len(a.body)))
		_, _ = w.Write(a.body)
	}
}
