package annotations

import "strings"

// foreignPrefixes maps key prefixes of clouds and load-balancer implementations cloudlb does not
// serve to their owner, so their keys are reported as "belongs to X" rather than as unknown.
var foreignPrefixes = []struct{ prefix, owner string }{
	{"service.beta.kubernetes.io/openstack-", "OpenStack"},
	{"loadbalancer.openstack.org/", "OpenStack"},
	{"service.kubernetes.io/qcloud-", "Tencent Cloud"},
	{"service.kubernetes.io/tke-", "Tencent Cloud"},
	{"service.cloud.tencent.com/", "Tencent Cloud"},
	{"service.kubernetes.io/service.extensiveParameters", "Tencent Cloud"},
	{"service.kubernetes.io/service.listenerParameters", "Tencent Cloud"},
	{"service.kubernetes.io/loadbalance-type", "Tencent Cloud"},
	{"service.kubernetes.io/local-svc-only-bind-node-with-pod", "Tencent Cloud"},
	{"service.beta.kubernetes.io/cce-", "Baidu Cloud"},
	{"service.beta.kubernetes.io/alibaba-cloud-", "Alibaba Cloud"},
	{"service.beta.kubernetes.io/alicloud-", "Alibaba Cloud"},
	{"service.beta.kubernetes.io/do-loadbalancer-", "DigitalOcean"},
	{"kubernetes.digitalocean.com/", "DigitalOcean"},
	{"service.beta.kubernetes.io/oci-", "Oracle Cloud"},
	{"oci.oraclecloud.com/", "Oracle Cloud"},
	{"oci-network-load-balancer.oraclecloud.com/", "Oracle Cloud"},
	{"service.kubernetes.io/ibm-", "IBM Cloud"},
	{"service.beta.kubernetes.io/linode-loadbalancer-", "Linode"},
	{"load-balancer.hetzner.cloud/", "Hetzner Cloud"},
	{"kubernetes.io/elb.", "Huawei Cloud"},
	{"service.beta.kubernetes.io/exoscale-", "Exoscale"},
	{"service.beta.kubernetes.io/scw-loadbalancer-", "Scaleway"},
	{"service.beta.kubernetes.io/vultr-loadbalancer-", "Vultr"},
	{"metallb.universe.tf/", "MetalLB"},
	{"metallb.io/", "MetalLB"},
	{"io.cilium/", "Cilium"},
	{"lbipam.cilium.io/", "Cilium"},
	{"kube-vip.io/", "kube-vip"},
}

// foreignOwner returns who owns key when it belongs to a cloud cloudlb does not serve.
func foreignOwner(key string) (string, bool) {
	for _, f := range foreignPrefixes {
		if strings.HasPrefix(key, f.prefix) {
			return f.owner, true
		}
	}
	return "", false
}
