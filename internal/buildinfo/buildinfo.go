// Package buildinfo says which build is running: the version the release
// build stamps in (go build -ldflags "-X ...buildinfo.Version=v1.2.3"), and
// the gateway_build_info series that carries it to dashboards.
package buildinfo

import (
	"runtime"
	"runtime/debug"

	"github.com/prometheus/client_golang/prometheus"
)

// Version is set at build time with
// -ldflags "-X github.com/partnerhub/gateway/internal/buildinfo.Version=<v>".
// Unset, it falls back to the module version Go recorded ("(devel)" for a
// plain go build) or "dev".
var Version = ""

// Revision is the source revision, set like Version; unset, the VCS
// revision Go recorded, if any.
var Revision = ""

func init() {
	bi, ok := debug.ReadBuildInfo()
	if Version == "" {
		Version = "dev"
		if ok && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
			Version = bi.Main.Version
		}
	}
	if Revision == "" && ok {
		for _, s := range bi.Settings {
			if s.Key == "vcs.revision" {
				Revision = s.Value
			}
		}
	}
}

// Collector is gateway_build_info: always 1, labelled with the version,
// revision and Go version, so a dashboard can show what runs where and a
// rollout can be followed replica by replica.
func Collector() prometheus.Collector {
	g := prometheus.NewGauge(prometheus.GaugeOpts{
		Name: "gateway_build_info",
		Help: "The running build: version, revision and Go version as labels; always 1.",
		ConstLabels: prometheus.Labels{
			"version":   Version,
			"revision":  Revision,
			"goversion": runtime.Version(),
		},
	})
	g.Set(1)
	return g
}
