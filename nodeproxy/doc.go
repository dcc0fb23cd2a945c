// Package nodeproxy will hold the node agent's pure decision logic: kube-proxy-compatible
// healthCheckNodePort answers, node health, and where a NodePort connection of an
// externalTrafficPolicy: Local Service goes. It arrives with the node-proxy issue; this file
// only fixes the layout.
package nodeproxy
