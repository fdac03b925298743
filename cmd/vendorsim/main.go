// Command vendorsim runs the four vendor simulators (and a development
// OIDC issuer) as a process of its own, so frontend developers, QA and the
// benchmark can point a production-mode gateway at them:
//
//	go run ./cmd/vendorsim -customers 5000 -latency 20ms
//	eval "$(go run ./cmd/vendorsim -print-env ...)"   # or copy the printed lines
//
// Every simulator takes faults at run time: PUT <url>/_sim/faults with e.g.
// {"status":503}, {"hang":true} or {"latency_ms":200}; DELETE clears.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/partnerhub/gateway/internal/devoidc"
	"github.com/partnerhub/gateway/internal/upstream/bokamera/bokamerasim"
	"github.com/partnerhub/gateway/internal/upstream/crayon/crayonsim"
	"github.com/partnerhub/gateway/internal/upstream/dbsync/dbsyncsim"
	"github.com/partnerhub/gateway/internal/upstream/gdap/gdapsim"
	"github.com/partnerhub/gateway/internal/upstream/simfault"
	"github.com/partnerhub/gateway/internal/upstream/simseed"
)

// Audience is the audience the issuer's tokens carry.
const Audience = "gateway"

func main() {
	if err := run(os.Args, os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "vendorsim:", err)
		os.Exit(1)
	}
}

func run(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet(args[0], flag.ContinueOnError)
	fs.SetOutput(stderr)
	host := fs.String("host", "127.0.0.1", "address to listen on (loopback by default)")
	ports := map[string]*int{}
	for i, name := range []string{"oidc", "gdap", "bokamera", "crayon", "dbsync"} {
		ports[name] = fs.Int(name+"-port", 0, fmt.Sprintf("port of the %s simulator; 0 picks a free one (e.g. %d)", name, 9100+i))
	}
	customers := fs.Int("customers", 0, "customers per vendor (GDAP, Crayon, BokaMera); 0 keeps the small hand-written seed")
	joined := fs.Float64("joined", 0.6, "share of -customers that GDAP and Crayon both hold (same Microsoft tenant)")
	latency := fs.Duration("latency", 0, "latency added to every vendor answer")
	latencies := map[string]*time.Duration{}
	for _, name := range []string{"gdap", "bokamera", "crayon", "dbsync"} {
		latencies[name] = fs.Duration(name+"-latency", -1, "latency of "+name+" answers (default -latency)")
	}
	noOIDC := fs.Bool("no-oidc", false, "do not start the development OIDC issuer")
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	if *joined < 0 || *joined > 1 {
		return errors.New("-joined must be between 0 and 1")
	}
	simseed.Scale(*customers, *joined)

	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()

	urls := map[string]string{}
	var servers []*http.Server
	defer func() {
		for _, s := range servers {
			_ = s.Close()
		}
	}()
	listen := func(name string) (net.Listener, error) {
		ln, err := net.Listen("tcp", net.JoinHostPort(*host, fmt.Sprint(*ports[name])))
		if err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		urls[name] = "http://" + ln.Addr().String()
		return ln, nil
	}
	serve := func(ln net.Listener, h http.Handler) {
		srv := &http.Server{Handler: h, ReadHeaderTimeout: 5 * time.Second}
		servers = append(servers, srv)
		go func() { _ = srv.Serve(ln) }()
	}
	var issuer *devoidc.Issuer
	if !*noOIDC {
		ln, err := listen("oidc")
		if err != nil {
			return err
		}
		if issuer, err = devoidc.New(urls["oidc"], Audience, "roles", devoidc.DevClients); err != nil {
			return err
		}
		serve(ln, issuer)
	}
	sims := map[string]interface {
		http.Handler
		faults() *simfault.Injector
	}{
		"gdap":     gdapSim{gdapsim.New(gdapsim.Options{})},
		"bokamera": bokaSim{bokamerasim.New(bokamerasim.Options{})},
		"crayon":   crayonSim{crayonsim.New(crayonsim.Options{})},
		"dbsync":   dbsyncSim{dbsyncsim.New(dbsyncsim.Options{})},
	}
	for _, name := range []string{"gdap", "bokamera", "crayon", "dbsync"} {
		ln, err := listen(name)
		if err != nil {
			return err
		}
		d := *latency
		if v := *latencies[name]; v >= 0 {
			d = v
		}
		if d > 0 {
			sims[name].faults().Set(simfault.Fault{LatencyMS: int(d.Milliseconds())})
		}
		serve(ln, sims[name])
	}

	_, _ = fmt.Fprint(stdout, Env(urls))
	_, _ = fmt.Fprintf(stdout, "# vendorsim: %d customers per vendor (%.0f%% joined GDAP/Crayon); faults: PUT <url>/_sim/faults\n",
		max(*customers, 0), *joined*100)
	if issuer != nil {
		_, _ = fmt.Fprintf(stdout, "# token: curl -s -u dev-reader:dev-reader-secret -d grant_type=client_credentials %s/token\n", urls["oidc"])
	}
	<-ctx.Done()
	return nil
}

// Env is the GATEWAY_* environment that points a production-mode gateway
// at the simulators, as shell export lines.
func Env(urls map[string]string) string {
	var b strings.Builder
	set := func(k, v string) { fmt.Fprintf(&b, "export %s=%s\n", k, v) }
	if u := urls["oidc"]; u != "" {
		set("GATEWAY_OIDC_ISSUER", u)
		set("GATEWAY_OIDC_AUDIENCE", Audience)
	}
	set("GATEWAY_GDAP_BASE_URL", urls["gdap"]+gdapsim.BasePath)
	set("GATEWAY_GDAP_PARTNER_ID", simseed.PartnerTenantID)
	set("GATEWAY_GDAP_TOKEN", gdapsim.DefaultToken)
	set("GATEWAY_BOKAMERA_BASE_URL", urls["bokamera"]+"/")
	set("GATEWAY_BOKAMERA_API_KEY", bokamerasim.DefaultAPIKey)
	set("GATEWAY_BOKAMERA_TOKEN_URL", urls["bokamera"]+bokamerasim.TokenPath)
	set("GATEWAY_BOKAMERA_USERNAME", bokamerasim.DefaultUsername)
	set("GATEWAY_BOKAMERA_PASSWORD", bokamerasim.DefaultPassword)
	set("GATEWAY_BOKAMERA_COMPANY_ID", simseed.BokaMeraCompanyID)
	set("GATEWAY_CRAYON_BASE_URL", urls["crayon"]+"/")
	set("GATEWAY_CRAYON_CLIENT_ID", crayonsim.DefaultClientID)
	set("GATEWAY_CRAYON_CLIENT_SECRET", crayonsim.DefaultClientSecret)
	set("GATEWAY_CRAYON_USERNAME", crayonsim.DefaultUsername)
	set("GATEWAY_CRAYON_PASSWORD", crayonsim.DefaultPassword)
	set("GATEWAY_CRAYON_ORGANIZATION_ID", fmt.Sprint(simseed.CrayonOrganizationID))
	set("GATEWAY_DBSYNC_BASE_URL", urls["dbsync"]+dbsyncsim.BasePath)
	set("GATEWAY_DBSYNC_APP_KEY", dbsyncsim.DefaultAppKey)
	set("GATEWAY_DBSYNC_APP_TOKEN", dbsyncsim.DefaultAppToken)
	return b.String()
}

// The simulators expose their fault injectors as a field; these adapters
// give the loop above one shape.
type (
	gdapSim   struct{ *gdapsim.Server }
	bokaSim   struct{ *bokamerasim.Server }
	crayonSim struct{ *crayonsim.Server }
	dbsyncSim struct{ *dbsyncsim.Server }
)

func (s gdapSim) faults() *simfault.Injector   { return s.Faults }
func (s bokaSim) faults() *simfault.Injector   { return s.Faults }
func (s crayonSim) faults() *simfault.Injector { return s.Faults }
func (s dbsyncSim) faults() *simfault.Injector { return s.Faults }
