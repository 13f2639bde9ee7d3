// Package deploy holds the deployment files: the Grafana dashboard (grafana/), the Prometheus
// alert rules and their promtool tests (prometheus/), docker-compose.yml, the Kubernetes
// manifests (k8s/) and the configuration they share (config/). It has no code; its tests
// check that every metric the dashboard and the rules use is exported by the gateway after a
// scripted scenario, and that the compose file and the manifests hang together.
package deploy
