// Package test checks what deploy/ ships against the gateway: the Grafana
// dashboard's and the alert rules' PromQL, and the Helm chart's rendered
// manifests. It is its own module so the Prometheus parser and the
// Kubernetes API types stay out of the gateway's dependencies. It also
// drives a frontend page on another origin against a `gateway -dev`
// process in headless Chromium (frontend_test.go, frontend/; README,
// Frontend), which needs node, chromium and playwright-core (NODE_PATH).
//
//	cd deploy/test && go test ./...
package test
