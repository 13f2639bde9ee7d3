package deploy

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/lidorub/lidorub/config"
)

// These tests check the deployment files as far as it goes without Docker or a cluster
// (neither was started here): they parse, carry the required fields, and every name one of
// them refers to exists.

type compose struct {
	Services map[string]struct {
		Build *struct {
			Context    string `yaml:"context"`
			Dockerfile string `yaml:"dockerfile"`
		} `yaml:"build"`
		Image       string            `yaml:"image"`
		Command     []string          `yaml:"command"`
		Environment map[string]string `yaml:"environment"`
		EnvFile     []string          `yaml:"env_file"`
		Ports       []string          `yaml:"ports"`
		Volumes     []string          `yaml:"volumes"`
		DependsOn   yaml.Node         `yaml:"depends_on"`
		Configs     []struct {
			Source string `yaml:"source"`
			Target string `yaml:"target"`
		} `yaml:"configs"`
	} `yaml:"services"`
	Configs map[string]struct {
		File string `yaml:"file"`
	} `yaml:"configs"`
	Volumes map[string]any `yaml:"volumes"`
}

// dependsOn reads depends_on in either form: a list of names or a map of name → condition.
func dependsOn(t *testing.T, n yaml.Node) []string {
	t.Helper()
	var names []string
	switch n.Kind {
	case 0:
	case yaml.SequenceNode:
		if err := n.Decode(&names); err != nil {
			t.Fatal(err)
		}
	case yaml.MappingNode:
		var m map[string]any
		if err := n.Decode(&m); err != nil {
			t.Fatal(err)
		}
		for k := range m {
			names = append(names, k)
		}
	default:
		t.Fatalf("depends_on: unexpected %v", n.Kind)
	}
	return names
}

var envRef = regexp.MustCompile(`\$\{([A-Z_][A-Z0-9_]*)`)

// envFileKeys reads KEY=value lines.
func envFileKeys(t *testing.T, p string) map[string]bool {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	keys := map[string]bool{}
	for _, line := range strings.Split(string(b), "\n") {
		if k, _, ok := strings.Cut(line, "="); ok && !strings.HasPrefix(line, "#") {
			keys[strings.TrimSpace(k)] = true
		}
	}
	return keys
}

// deployConfigEnv parses the deployment config with the gateway's own loader and returns
// the environment variables it reads.
func deployConfigEnv(t *testing.T, text []byte) []string {
	t.Helper()
	env := map[string]string{
		"LIDORUB_INSTANCE_ID": "gateway-1",
		"REDIS_URL":           "redis://redis:6379/0",
	}
	var asked []string
	cfg, err := config.Parse(text, func(k string) (string, bool) {
		asked = append(asked, k)
		if v, ok := env[k]; ok {
			return v, true
		}
		if strings.HasPrefix(k, "LIDORUB_TOKEN_") {
			return "a-secret-token-for-" + strings.ToLower(k), true
		}
		return "", false
	})
	if err != nil {
		t.Fatalf("the gateway rejects the deployment config: %v", err)
	}
	if cfg.HTTP.Listen != ":8080" || cfg.InstanceID != "gateway-1" || len(cfg.Managers) == 0 {
		t.Fatalf("deployment config: listen %q, instance %q, %d managers", cfg.HTTP.Listen, cfg.InstanceID, len(cfg.Managers))
	}
	sort.Strings(asked)
	return slices.Compact(asked)
}

func TestCompose(t *testing.T) {
	var c compose
	readYAML(t, "docker-compose.yml", &c)
	for _, name := range []string{"gateway-1", "gateway-2", "redis", "prometheus", "grafana"} {
		if _, ok := c.Services[name]; !ok {
			t.Errorf("service %s missing", name)
		}
	}
	configEnv := deployConfigEnv(t, mustRead(t, "config/lidorub.yaml"))
	envExample := envFileKeys(t, ".env.example")
	instances := map[string]bool{}
	for name, s := range c.Services {
		if s.Image == "" && s.Build == nil {
			t.Errorf("%s: neither image nor build", name)
		}
		if s.Build != nil {
			if _, err := os.Stat(filepath.Join(s.Build.Context, s.Build.Dockerfile)); err != nil {
				t.Errorf("%s: build: %v", name, err)
			}
		}
		for _, d := range dependsOn(t, s.DependsOn) {
			if _, ok := c.Services[d]; !ok {
				t.Errorf("%s depends on %s, which is not a service", name, d)
			}
		}
		for _, v := range s.Volumes {
			src, _, _ := strings.Cut(v, ":")
			if strings.HasPrefix(src, ".") || strings.HasPrefix(src, "/") {
				if _, err := os.Stat(src); err != nil {
					t.Errorf("%s: bind mount %v", name, err)
				}
			} else if _, ok := c.Volumes[src]; !ok {
				t.Errorf("%s mounts volume %s, which is not declared", name, src)
			}
		}
		for _, cf := range s.Configs {
			if _, ok := c.Configs[cf.Source]; !ok {
				t.Errorf("%s uses config %s, which is not declared", name, cf.Source)
			}
		}
		for _, f := range s.EnvFile {
			if f == ".env" {
				continue // from .env.example, checked below
			}
			if _, err := os.Stat(f); err != nil {
				t.Errorf("%s: env_file %v", name, err)
			}
		}
		if !strings.HasPrefix(name, "gateway-") {
			continue
		}
		// A gateway: its own instance id, Redis by service name, the deployment config,
		// every variable the config reads set here or in .env.
		id := s.Environment["LIDORUB_INSTANCE_ID"]
		if id == "" || instances[id] {
			t.Errorf("%s: instance id %q missing or shared", name, id)
		}
		instances[id] = true
		u, err := url.Parse(s.Environment["REDIS_URL"])
		if err != nil {
			t.Errorf("%s: REDIS_URL: %v", name, err)
		} else if _, ok := c.Services[u.Hostname()]; !ok {
			t.Errorf("%s: REDIS_URL names %q, which is not a service", name, u.Hostname())
		}
		if !slices.Contains(dependsOn(t, s.DependsOn), "redis") {
			t.Errorf("%s does not depend on redis", name)
		}
		mounted := false
		for _, cf := range s.Configs {
			if cf.Target == s.Environment["LIDORUB_CONFIG"] && c.Configs[cf.Source].File == "./config/lidorub.yaml" {
				mounted = true
			}
		}
		if !mounted {
			t.Errorf("%s: LIDORUB_CONFIG %q is not the mounted config/lidorub.yaml", name, s.Environment["LIDORUB_CONFIG"])
		}
		for _, k := range configEnv {
			if _, ok := s.Environment[k]; !ok && !envExample[k] {
				t.Errorf("%s: the config reads %s, set neither in environment nor in .env.example", name, k)
			}
		}
	}
	for name, cf := range c.Configs {
		if _, err := os.Stat(cf.File); err != nil {
			t.Errorf("config %s: %v", name, err)
		}
	}
	// Redis 7 with AOF.
	if r := c.Services["redis"]; !strings.HasPrefix(r.Image, "redis:7") || !strings.Contains(strings.Join(r.Command, " "), "--appendonly yes") {
		t.Errorf("redis: image %q command %q, want Redis 7 with --appendonly yes", r.Image, r.Command)
	}
	// Prometheus scrapes every gateway service on its container port and loads the rules.
	var prom struct {
		RuleFiles     []string `yaml:"rule_files"`
		ScrapeConfigs []struct {
			JobName       string `yaml:"job_name"`
			StaticConfigs []struct {
				Targets []string `yaml:"targets"`
			} `yaml:"static_configs"`
		} `yaml:"scrape_configs"`
	}
	readYAML(t, "prometheus/prometheus.yml", &prom)
	var targets []string
	for _, sc := range prom.ScrapeConfigs {
		if sc.JobName == "lidorub" { // the alert rules' up{job="lidorub"}
			for _, st := range sc.StaticConfigs {
				targets = append(targets, st.Targets...)
			}
		}
	}
	sort.Strings(targets)
	if want := []string{"gateway-1:8080", "gateway-2:8080"}; !slices.Equal(targets, want) {
		t.Errorf("prometheus scrapes %v, want %v", targets, want)
	}
	promTargets := map[string]string{}
	for _, cf := range c.Services["prometheus"].Configs {
		promTargets[path.Base(cf.Target)] = c.Configs[cf.Source].File
	}
	for _, rf := range prom.RuleFiles {
		if promTargets[rf] != "./prometheus/"+rf {
			t.Errorf("rule file %s is not mounted next to prometheus.yml (%v)", rf, promTargets)
		}
	}
	// Grafana: the provider's path holds the mounted dashboard.
	var prov struct {
		Providers []struct {
			Options struct {
				Path string `yaml:"path"`
			} `yaml:"options"`
		} `yaml:"providers"`
	}
	readYAML(t, "grafana/provisioning/dashboards/lidorub.yml", &prov)
	dash := ""
	for _, cf := range c.Services["grafana"].Configs {
		if c.Configs[cf.Source].File == "./grafana/lidorub.json" {
			dash = cf.Target
		}
	}
	if len(prov.Providers) != 1 || dash == "" || path.Dir(dash) != prov.Providers[0].Options.Path {
		t.Errorf("grafana: dashboard mounted at %q, provider reads %+v", dash, prov.Providers)
	}
}

// manifest is one Kubernetes object, decoded loosely.
type manifest struct {
	APIVersion string `yaml:"apiVersion"`
	Kind       string `yaml:"kind"`
	Metadata   struct {
		Name   string            `yaml:"name"`
		Labels map[string]string `yaml:"labels"`
	} `yaml:"metadata"`
	Type       string            `yaml:"type"`
	Data       map[string]string `yaml:"data"`
	StringData map[string]string `yaml:"stringData"`
	Spec       yaml.Node         `yaml:"spec"`
}

type podSpec struct {
	Containers []struct {
		Name  string `yaml:"name"`
		Image string `yaml:"image"`
		Ports []struct {
			Name          string `yaml:"name"`
			ContainerPort int    `yaml:"containerPort"`
		} `yaml:"ports"`
		Env []struct {
			Name      string `yaml:"name"`
			Value     string `yaml:"value"`
			ValueFrom *struct {
				FieldRef *struct {
					FieldPath string `yaml:"fieldPath"`
				} `yaml:"fieldRef"`
			} `yaml:"valueFrom"`
		} `yaml:"env"`
		EnvFrom []struct {
			SecretRef *struct {
				Name string `yaml:"name"`
			} `yaml:"secretRef"`
			ConfigMapRef *struct {
				Name string `yaml:"name"`
			} `yaml:"configMapRef"`
		} `yaml:"envFrom"`
		VolumeMounts []struct {
			Name      string `yaml:"name"`
			MountPath string `yaml:"mountPath"`
		} `yaml:"volumeMounts"`
		ReadinessProbe *probe `yaml:"readinessProbe"`
		LivenessProbe  *probe `yaml:"livenessProbe"`
	} `yaml:"containers"`
	Volumes []struct {
		Name      string `yaml:"name"`
		ConfigMap *struct {
			Name string `yaml:"name"`
		} `yaml:"configMap"`
		Secret *struct {
			SecretName string `yaml:"secretName"`
		} `yaml:"secret"`
	} `yaml:"volumes"`
}

type probe struct {
	HTTPGet *struct {
		Path string `yaml:"path"`
		Port any    `yaml:"port"`
	} `yaml:"httpGet"`
}

type selector struct {
	MatchLabels map[string]string `yaml:"matchLabels"`
}

func readManifests(t *testing.T) map[string]manifest {
	t.Helper()
	files, err := filepath.Glob("k8s/*.yaml")
	if err != nil || len(files) == 0 {
		t.Fatalf("k8s/*.yaml: %v %v", files, err)
	}
	objs := map[string]manifest{}
	for _, f := range files {
		dec := yaml.NewDecoder(bytes.NewReader(mustRead(t, f)))
		dec.KnownFields(true)
		for {
			var m manifest
			err := dec.Decode(&m)
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				t.Fatalf("%s: %v", f, err)
			}
			if m.APIVersion == "" || m.Kind == "" || m.Metadata.Name == "" {
				t.Fatalf("%s: an object without apiVersion, kind or metadata.name: %+v", f, m)
			}
			key := m.Kind + "/" + m.Metadata.Name
			if _, dup := objs[key]; dup {
				t.Fatalf("%s: %s defined twice", f, key)
			}
			objs[key] = m
		}
	}
	return objs
}

func subset(sel, labels map[string]string) bool {
	if len(sel) == 0 {
		return false
	}
	for k, v := range sel {
		if labels[k] != v {
			return false
		}
	}
	return true
}

func TestKubernetesManifests(t *testing.T) {
	objs := readManifests(t)
	dep, ok := objs["Deployment/lidorub"]
	if !ok {
		t.Fatalf("no Deployment/lidorub among %v", keys(objs))
	}
	var spec struct {
		Replicas int      `yaml:"replicas"`
		Selector selector `yaml:"selector"`
		Template struct {
			Metadata struct {
				Labels map[string]string `yaml:"labels"`
			} `yaml:"metadata"`
			Spec podSpec `yaml:"spec"`
		} `yaml:"template"`
	}
	if err := dep.Spec.Decode(&spec); err != nil {
		t.Fatal(err)
	}
	podLabels := spec.Template.Metadata.Labels
	if spec.Replicas < 2 {
		t.Errorf("replicas %d, want at least 2", spec.Replicas)
	}
	if !subset(spec.Selector.MatchLabels, podLabels) {
		t.Errorf("the Deployment's selector %v does not match its pods %v", spec.Selector.MatchLabels, podLabels)
	}
	pod := spec.Template.Spec
	if len(pod.Containers) != 1 {
		t.Fatalf("%d containers", len(pod.Containers))
	}
	ctr := pod.Containers[0]
	ports := map[string]int{}
	for _, p := range ctr.Ports {
		ports[p.Name] = p.ContainerPort
	}
	checkProbe := func(what string, p *probe, path string) {
		if p == nil || p.HTTPGet == nil || p.HTTPGet.Path != path {
			t.Errorf("%s probe: %+v, want GET %s", what, p, path)
			return
		}
		port := fmt.Sprint(p.HTTPGet.Port)
		if _, named := ports[port]; !named && port != "8080" {
			t.Errorf("%s probe on port %v, which the container does not expose", what, port)
		}
	}
	checkProbe("readiness", ctr.ReadinessProbe, "/readyz")
	checkProbe("liveness", ctr.LivenessProbe, "/healthz")
	if ports["http"] != 8080 {
		t.Errorf("container ports %v, want http 8080 (config: listen :8080)", ports)
	}

	// Secrets and ConfigMaps referenced exist; the config file is where LIDORUB_CONFIG says.
	env := map[string]bool{}
	configPath := ""
	for _, e := range ctr.Env {
		env[e.Name] = true
		if e.Name == "LIDORUB_CONFIG" {
			configPath = e.Value
		}
		if e.Name == "LIDORUB_INSTANCE_ID" && (e.ValueFrom == nil || e.ValueFrom.FieldRef == nil || e.ValueFrom.FieldRef.FieldPath != "metadata.name") {
			t.Errorf("LIDORUB_INSTANCE_ID should be the pod's name")
		}
	}
	for _, ef := range ctr.EnvFrom {
		if ef.SecretRef != nil {
			s, ok := objs["Secret/"+ef.SecretRef.Name]
			if !ok {
				t.Errorf("envFrom Secret %s does not exist", ef.SecretRef.Name)
			}
			for k := range s.StringData {
				env[k] = true
			}
			for k := range s.Data {
				env[k] = true
			}
		}
		if ef.ConfigMapRef != nil {
			if _, ok := objs["ConfigMap/"+ef.ConfigMapRef.Name]; !ok {
				t.Errorf("envFrom ConfigMap %s does not exist", ef.ConfigMapRef.Name)
			}
		}
	}
	volumes := map[string]string{} // volume → ConfigMap name
	for _, v := range pod.Volumes {
		if v.ConfigMap != nil {
			if _, ok := objs["ConfigMap/"+v.ConfigMap.Name]; !ok {
				t.Errorf("volume %s: ConfigMap %s does not exist", v.Name, v.ConfigMap.Name)
			}
			volumes[v.Name] = v.ConfigMap.Name
		}
		if v.Secret != nil {
			if _, ok := objs["Secret/"+v.Secret.SecretName]; !ok {
				t.Errorf("volume %s: Secret %s does not exist", v.Name, v.Secret.SecretName)
			}
		}
	}
	var configText string
	for _, m := range ctr.VolumeMounts {
		if cm, ok := volumes[m.Name]; ok && path.Dir(configPath) == m.MountPath {
			configText = objs["ConfigMap/"+cm].Data[path.Base(configPath)]
		}
	}
	if configText == "" {
		t.Fatalf("LIDORUB_CONFIG %q is no key of a mounted ConfigMap", configPath)
	}
	if configText != string(mustRead(t, "config/lidorub.yaml")) {
		t.Error("the ConfigMap's lidorub.yaml differs from config/lidorub.yaml")
	}
	for _, k := range deployConfigEnv(t, []byte(configText)) {
		if !env[k] {
			t.Errorf("the config reads %s, which neither the Deployment nor its Secret sets", k)
		}
	}

	// The PodDisruptionBudget and the Service select the Deployment's pods; the budget lets
	// a node drain go on (fewer than all replicas required).
	var pdb struct {
		MinAvailable   *int     `yaml:"minAvailable"`
		MaxUnavailable *int     `yaml:"maxUnavailable"`
		Selector       selector `yaml:"selector"`
	}
	decodeSpec(t, objs, "PodDisruptionBudget/lidorub", &pdb)
	if !subset(pdb.Selector.MatchLabels, podLabels) {
		t.Errorf("the PodDisruptionBudget's selector %v does not match the pods %v", pdb.Selector.MatchLabels, podLabels)
	}
	if pdb.MinAvailable == nil || *pdb.MinAvailable < 1 || *pdb.MinAvailable >= spec.Replicas {
		t.Errorf("PodDisruptionBudget minAvailable %v with %d replicas: want at least 1 and fewer than the replicas", pdb.MinAvailable, spec.Replicas)
	}
	var svc struct {
		Selector map[string]string `yaml:"selector"`
		Ports    []struct {
			TargetPort any `yaml:"targetPort"`
		} `yaml:"ports"`
	}
	decodeSpec(t, objs, "Service/lidorub", &svc)
	if !subset(svc.Selector, podLabels) {
		t.Errorf("the Service's selector %v does not match the pods %v", svc.Selector, podLabels)
	}
	for _, p := range svc.Ports {
		if _, named := ports[fmt.Sprint(p.TargetPort)]; !named && fmt.Sprint(p.TargetPort) != "8080" {
			t.Errorf("the Service targets port %v, which the container does not expose", p.TargetPort)
		}
	}
}

func decodeSpec(t *testing.T, objs map[string]manifest, key string, v any) {
	t.Helper()
	m, ok := objs[key]
	if !ok {
		t.Fatalf("no %s among %v", key, keys(objs))
	}
	if err := m.Spec.Decode(v); err != nil {
		t.Fatalf("%s: %v", key, err)
	}
}

func keys(objs map[string]manifest) []string {
	var ks []string
	for k := range objs {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}

func mustRead(t *testing.T, p string) []byte {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
