package test

import (
	"bufio"
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/serializer"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/yaml"
)

const chartDir = "../helm/gateway"

// kubeVersion is what the chart is rendered for: the oldest it supports.
const kubeVersion = "1.30.0"

// helmBinary finds helm; without it the chart tests skip, except in CI.
func helmBinary(t *testing.T) string {
	t.Helper()
	p, err := exec.LookPath("helm")
	if err != nil {
		if os.Getenv("GATEWAY_REQUIRE_TOOLS") != "" {
			t.Fatal("GATEWAY_REQUIRE_TOOLS is set but helm is not installed (go install helm.sh/helm/v3/cmd/helm@v3.22.0)")
		}
		t.Skip("helm not installed: go install helm.sh/helm/v3/cmd/helm@v3.22.0")
	}
	return p
}

// render runs helm template with the values files and --set pairs.
func render(t *testing.T, valuesFiles []string, set ...string) (string, error) {
	t.Helper()
	args := []string{"template", "gw", chartDir, "--namespace", "apps", "--kube-version", kubeVersion}
	for _, f := range valuesFiles {
		args = append(args, "-f", f)
	}
	for _, s := range set {
		args = append(args, "--set", s)
	}
	cmd := exec.Command(helmBinary(t), args...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return stderr.String(), err
	}
	return string(out), nil
}

// strictDecoder decodes into the Kubernetes API types and fails on unknown
// or duplicate fields, as the API server's strict field validation does.
func strictDecoder() runtime.Decoder {
	s := runtime.NewScheme()
	for _, add := range []func(*runtime.Scheme) error{
		corev1.AddToScheme, appsv1.AddToScheme, policyv1.AddToScheme,
		autoscalingv2.AddToScheme, networkingv1.AddToScheme,
	} {
		if err := add(s); err != nil {
			panic(err)
		}
	}
	return serializer.NewCodecFactory(s, serializer.EnableStrict).UniversalDeserializer()
}

// serviceMonitor is the part of prometheus-operator's CRD the chart uses;
// unknown fields fail the decode.
type serviceMonitor struct {
	APIVersion string `json:"apiVersion"`
	Kind       string `json:"kind"`
	Metadata   struct {
		Name   string            `json:"name"`
		Labels map[string]string `json:"labels"`
	} `json:"metadata"`
	Spec struct {
		Selector struct {
			MatchLabels map[string]string `json:"matchLabels"`
		} `json:"selector"`
		Endpoints []struct {
			Port     string `json:"port"`
			Path     string `json:"path"`
			Interval string `json:"interval"`
		} `json:"endpoints"`
	} `json:"spec"`
}

// prometheusRule is the part of prometheus-operator's PrometheusRule CRD
// the chart uses; unknown fields fail the decode.
type prometheusRule struct {
	APIVersion string `json:"apiVersion"`
	Kind       string `json:"kind"`
	Metadata   struct {
		Name   string            `json:"name"`
		Labels map[string]string `json:"labels"`
	} `json:"metadata"`
	Spec struct {
		Groups []struct {
			Name     string `json:"name"`
			Interval string `json:"interval"`
			Rules    []struct {
				Record      string            `json:"record"`
				Alert       string            `json:"alert"`
				Expr        string            `json:"expr"`
				For         string            `json:"for"`
				Labels      map[string]string `json:"labels"`
				Annotations map[string]string `json:"annotations"`
			} `json:"rules"`
		} `json:"groups"`
	} `json:"spec"`
}

type manifests struct {
	objects map[string]runtime.Object // by kind
	monitor *serviceMonitor
	rule    *prometheusRule
}

// decodeCRD decodes a custom resource into v, rejecting unknown fields.
func decodeCRD(t *testing.T, doc []byte, v any) {
	t.Helper()
	js, err := yaml.YAMLToJSON(doc)
	if err != nil {
		t.Fatal(err)
	}
	d := json.NewDecoder(bytes.NewReader(js))
	d.DisallowUnknownFields()
	if err := d.Decode(v); err != nil {
		t.Fatalf("%T: %v", v, err)
	}
}

func decodeAll(t *testing.T, rendered string) manifests {
	t.Helper()
	m := manifests{objects: map[string]runtime.Object{}}
	dec := strictDecoder()
	r := utilyaml.NewYAMLReader(bufio.NewReader(strings.NewReader(rendered)))
	for {
		doc, err := r.Read()
		if err != nil {
			break
		}
		if len(bytes.TrimSpace(stripComments(doc))) == 0 {
			continue
		}
		var head struct{ Kind string }
		if err := yaml.Unmarshal(doc, &head); err != nil {
			t.Fatalf("rendered YAML does not parse: %v\n%s", err, doc)
		}
		switch head.Kind {
		case "ServiceMonitor":
			m.monitor = &serviceMonitor{}
			decodeCRD(t, doc, m.monitor)
			continue
		case "PrometheusRule":
			m.rule = &prometheusRule{}
			decodeCRD(t, doc, m.rule)
			continue
		}
		obj, _, err := dec.Decode(doc, nil, nil)
		if err != nil {
			t.Fatalf("%s does not decode strictly: %v\n%s", head.Kind, err, doc)
		}
		if _, dup := m.objects[head.Kind]; dup {
			t.Fatalf("two %s objects", head.Kind)
		}
		m.objects[head.Kind] = obj
	}
	return m
}

func stripComments(doc []byte) []byte {
	var out []string
	for _, l := range strings.Split(string(doc), "\n") {
		if !strings.HasPrefix(strings.TrimSpace(l), "#") {
			out = append(out, l)
		}
	}
	return []byte(strings.Join(out, "\n"))
}

func TestProductionValuesRenderHardenedObjects(t *testing.T) {
	out, err := render(t, []string{chartDir + "/ci/production-values.yaml"})
	if err != nil {
		t.Fatalf("helm template: %v\n%s", err, out)
	}
	m := decodeAll(t, out)
	for _, kind := range []string{"ServiceAccount", "Service", "Deployment", "PodDisruptionBudget", "HorizontalPodAutoscaler", "NetworkPolicy"} {
		if m.objects[kind] == nil {
			t.Errorf("no %s rendered", kind)
		}
	}
	dep, ok := m.objects["Deployment"].(*appsv1.Deployment)
	if !ok {
		t.Fatal("no Deployment")
	}
	if dep.Spec.Replicas != nil {
		t.Errorf("replicas = %d set while the HPA owns the count", *dep.Spec.Replicas)
	}
	pod := dep.Spec.Template.Spec
	if pod.AutomountServiceAccountToken == nil || *pod.AutomountServiceAccountToken {
		t.Error("the pod mounts a service-account token")
	}
	if sa, ok := m.objects["ServiceAccount"].(*corev1.ServiceAccount); !ok || sa.AutomountServiceAccountToken == nil || *sa.AutomountServiceAccountToken {
		t.Error("the service account allows token automount")
	}
	psc := pod.SecurityContext
	if psc == nil || psc.RunAsNonRoot == nil || !*psc.RunAsNonRoot || psc.SeccompProfile == nil || psc.SeccompProfile.Type != corev1.SeccompProfileTypeRuntimeDefault {
		t.Errorf("pod security context %+v: want non-root and seccomp RuntimeDefault", psc)
	}
	if len(pod.Containers) != 1 {
		t.Fatalf("%d containers", len(pod.Containers))
	}
	c := pod.Containers[0]
	if sc := c.SecurityContext; sc == nil || sc.ReadOnlyRootFilesystem == nil || !*sc.ReadOnlyRootFilesystem ||
		sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation {
		t.Errorf("container security context %+v: want a read-only root and no privilege escalation", sc)
	}
	if c.ReadinessProbe == nil || c.ReadinessProbe.HTTPGet == nil || c.ReadinessProbe.HTTPGet.Path != "/readyz" {
		t.Errorf("readiness probe %+v, want GET /readyz", c.ReadinessProbe)
	}
	if c.LivenessProbe == nil || c.LivenessProbe.HTTPGet == nil || c.LivenessProbe.HTTPGet.Path != "/healthz" {
		t.Errorf("liveness probe %+v, want GET /healthz", c.LivenessProbe)
	}
	if c.Resources.Requests.Cpu().IsZero() || c.Resources.Requests.Memory().IsZero() || c.Resources.Limits.Memory().IsZero() {
		t.Errorf("resources %+v: want CPU and memory requests and a memory limit", c.Resources)
	}
	if c.Image != "ghcr.io/partnerhub/gateway:1.4.2" {
		t.Errorf("image %q", c.Image)
	}

	// Secrets reach the gateway only as files: every secret variable is a
	// _FILE pointing into the mounted Secret, none carries a value.
	env := map[string]string{}
	for _, e := range c.Env {
		if e.ValueFrom != nil {
			t.Errorf("%s comes from valueFrom; secrets must be mounted files", e.Name)
		}
		env[e.Name] = e.Value
	}
	var secretVol *corev1.Volume
	for i, v := range pod.Volumes {
		if v.Secret != nil {
			secretVol = &pod.Volumes[i]
		}
	}
	if secretVol == nil || secretVol.Secret.SecretName != "gateway-secrets" {
		t.Fatalf("no volume from Secret gateway-secrets: %+v", pod.Volumes)
	}
	mounted := map[string]string{}
	for _, it := range secretVol.Secret.Items {
		mounted["/etc/gateway/secrets/"+it.Path] = it.Key
	}
	for _, name := range []string{"GATEWAY_DATABASE_URL", "GATEWAY_PAGE_TOKEN_KEY", "GATEWAY_CRAYON_PASSWORD", "GATEWAY_DBSYNC_APP_TOKEN"} {
		if _, plain := env[name]; plain {
			t.Errorf("%s has a plain value", name)
		}
		path := env[name+"_FILE"]
		if mounted[path] == "" {
			t.Errorf("%s_FILE = %q is not a mounted Secret key (mounted: %v)", name, path, mounted)
		}
	}
	var mountedAt string
	for _, vm := range c.VolumeMounts {
		if vm.Name == secretVol.Name {
			mountedAt = vm.MountPath
		}
	}
	if mountedAt != "/etc/gateway/secrets" {
		t.Errorf("secret volume mounted at %q", mountedAt)
	}
	if env["GATEWAY_OIDC_ISSUER"] != "https://login.example.com/realms/partner" || env["GATEWAY_CRAYON_ORGANIZATION_ID"] != "12345" {
		t.Errorf("values did not reach the environment: %v", env)
	}

	if pdb, ok := m.objects["PodDisruptionBudget"].(*policyv1.PodDisruptionBudget); ok {
		if pdb.Spec.MaxUnavailable == nil || pdb.Spec.MaxUnavailable.IntValue() != 1 {
			t.Errorf("PDB maxUnavailable %v, want 1", pdb.Spec.MaxUnavailable)
		}
	}
	if hpa, ok := m.objects["HorizontalPodAutoscaler"].(*autoscalingv2.HorizontalPodAutoscaler); ok {
		if hpa.Spec.ScaleTargetRef.Name != dep.Name || hpa.Spec.MaxReplicas != 6 {
			t.Errorf("HPA targets %s up to %d", hpa.Spec.ScaleTargetRef.Name, hpa.Spec.MaxReplicas)
		}
	}
	if np, ok := m.objects["NetworkPolicy"].(*networkingv1.NetworkPolicy); ok {
		if len(np.Spec.Ingress) != 1 || len(np.Spec.Ingress[0].From) != 1 || len(np.Spec.Egress) != 2 {
			t.Errorf("NetworkPolicy %+v", np.Spec)
		}
	}
	if m.rule == nil {
		t.Error("no PrometheusRule rendered")
	} else {
		alerts := 0
		for _, g := range m.rule.Spec.Groups {
			for _, r := range g.Rules {
				if r.Alert != "" && r.Annotations["summary"] != "" {
					alerts++
				}
			}
		}
		if want := len(alertNames(t)); alerts != want || want == 0 {
			t.Errorf("PrometheusRule has %d alerts with a summary, the rules file %d", alerts, want)
		}
	}
	if m.monitor == nil || len(m.monitor.Spec.Endpoints) != 1 || m.monitor.Spec.Endpoints[0].Path != "/metrics" ||
		m.monitor.Metadata.Labels["release"] != "prometheus" {
		t.Errorf("ServiceMonitor %+v", m.monitor)
	}
}

func TestSingleReplicaKeepsItsDatabaseOnTheClaim(t *testing.T) {
	out, err := render(t, []string{chartDir + "/ci/single-replica-values.yaml"})
	if err != nil {
		t.Fatalf("helm template: %v\n%s", err, out)
	}
	m := decodeAll(t, out)
	if m.objects["PodDisruptionBudget"] != nil {
		t.Error("a PodDisruptionBudget for one replica would block node drains")
	}
	dep := m.objects["Deployment"].(*appsv1.Deployment)
	if dep.Spec.Replicas == nil || *dep.Spec.Replicas != 1 {
		t.Errorf("replicas %v, want 1", dep.Spec.Replicas)
	}
	var db string
	for _, e := range dep.Spec.Template.Spec.Containers[0].Env {
		if e.Name == "GATEWAY_DATABASE_URL" {
			db = e.Value
		}
	}
	if db != "sqlite:/var/lib/gateway/gateway.db" {
		t.Errorf("GATEWAY_DATABASE_URL = %q", db)
	}
	claim := ""
	for _, v := range dep.Spec.Template.Spec.Volumes {
		if v.PersistentVolumeClaim != nil {
			claim = v.PersistentVolumeClaim.ClaimName
		}
	}
	if claim != "gateway-data" {
		t.Errorf("database volume claim %q, want gateway-data", claim)
	}
}

// Several replicas without a shared database or page-token key would
// split state and reject each other's page tokens: rendering must refuse,
// saying what to set.
func TestUnsafeScalingIsRefused(t *testing.T) {
	prod := chartDir + "/ci/production-values.yaml"
	for _, tc := range []struct {
		name  string
		files []string
		set   []string
		want  string
	}{
		{"defaults: two replicas, nothing shared", nil, nil, "need a shared PostgreSQL database"},
		{"two replicas, sqlite in env", nil, []string{"env.GATEWAY_DATABASE_URL=sqlite:/var/lib/gateway/gw.db",
			"secrets.existingSecret=s", "secrets.keys.GATEWAY_PAGE_TOKEN_KEY=k"}, "need a shared PostgreSQL database"},
		{"autoscaling from one replica", []string{chartDir + "/ci/single-replica-values.yaml"},
			[]string{"autoscaling.enabled=true", "autoscaling.maxReplicas=3"}, "3 replicas need a shared PostgreSQL database"},
		{"PostgreSQL but no page-token key", nil, []string{"secrets.existingSecret=s", "secrets.keys.GATEWAY_DATABASE_URL=db"},
			"need one page-token key shared by all of them"},
		{"secret keys without a Secret", []string{prod}, []string{"secrets.existingSecret="}, "secrets.existingSecret is empty"},
		{"a secret also in env", []string{prod}, []string{"env.GATEWAY_PAGE_TOKEN_KEY=oops"}, "set both in env and in secrets.keys"},
		{"a misspelt variable", []string{prod}, []string{"env.GATEWAY-RATE-LIMIT=5"}, "neither a GATEWAY_* nor an OTEL_* variable"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out, err := render(t, tc.files, tc.set...)
			if err == nil {
				t.Fatalf("rendered; want a failure saying %q", tc.want)
			}
			if !strings.Contains(out, tc.want) {
				t.Errorf("error %q does not say %q", out, tc.want)
			}
		})
	}
}

// The chart cannot read files outside itself, so it carries a copy of the
// rules; the copy must be the file promtool tests.
func TestChartRulesAreTheTestedRules(t *testing.T) {
	tested, err := os.ReadFile(rulesFile)
	if err != nil {
		t.Fatal(err)
	}
	shipped, err := os.ReadFile(chartDir + "/files/gateway-rules.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(tested, shipped) {
		t.Errorf("%s/files/gateway-rules.yaml differs from %s: cp %s %s/files/", chartDir, rulesFile, rulesFile, chartDir)
	}
}

func alertNames(t *testing.T) []string {
	t.Helper()
	var out []string
	for _, g := range loadRules(t).Groups {
		for _, r := range g.Rules {
			if r.Alert != "" {
				out = append(out, r.Alert)
			}
		}
	}
	return out
}
