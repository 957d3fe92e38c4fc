/* Ports: one per cfg.ports entry, whatever its poll-mode driver (af_packet
 * or tap in the lab, a PCI NIC in production). Each port gets one RX and
 * one TX queue per worker; with several workers and a driver that can,
 * RSS spreads flows across them (af_packet spreads with a fanout hash).
 */
#include <rte_ethdev.h>
#include <rte_log.h>
#include <stdio.h>
#include <string.h>

#include "dp.h"
#include "pkt.h"

/* The ethdev name of a vdev spec: "net_af_packet0,iface=x" -> the part
 * before the first comma. */
static void vdev_name(const char *spec, char *buf, size_t len)
{
	size_t n = strcspn(spec, ",");

	if (n >= len)
		n = len - 1;
	memcpy(buf, spec, n);
	buf[n] = '\0';
}

static int port_setup(struct hg_dp *dp, unsigned idx)
{
	const struct hg_port_config *pc = &dp->cfg.ports[idx];
	struct hg_dp_port *p = &dp->ports[idx];
	struct rte_eth_conf conf = {0};
	struct rte_eth_dev_info info;
	struct rte_ether_addr mac;
	unsigned nq = dp->n_workers;
	char name[RTE_ETH_NAME_MAX_LEN];
	uint16_t pid, nb_rxd = dp->cfg.dataplane.rx_desc,
		      nb_txd = dp->cfg.dataplane.tx_desc;
	int rc;

	if (pc->pci[0] != '\0')
		snprintf(name, sizeof(name), "%s", pc->pci);
	else
		vdev_name(pc->device, name, sizeof(name));
	if (rte_eth_dev_get_port_by_name(name, &pid) != 0) {
		fprintf(stderr, "port %s: device %s not found\n", pc->name,
			name);
		return -1;
	}
	rc = rte_eth_dev_info_get(pid, &info);
	if (rc != 0) {
		fprintf(stderr, "port %s: info: %s\n", pc->name,
			rte_strerror(-rc));
		return -1;
	}
	if (info.max_rx_queues < nq || info.max_tx_queues < nq) {
		fprintf(stderr,
			"port %s: %u workers need %u queues, the device has "
			"%u (af_packet: add qpairs=%u to its device string)\n",
			pc->name, nq, nq, info.max_rx_queues, nq);
		return -1;
	}
	if (nq > 1 && info.flow_type_rss_offloads != 0) {
		conf.rxmode.mq_mode = RTE_ETH_MQ_RX_RSS;
		conf.rx_adv_conf.rss_conf.rss_hf =
			(RTE_ETH_RSS_IP | RTE_ETH_RSS_TCP | RTE_ETH_RSS_UDP) &
			info.flow_type_rss_offloads;
	}
	conf.rxmode.mtu = pc->mtu;
	rc = rte_eth_dev_configure(pid, nq, nq, &conf);
	if (rc == 0)
		rc = rte_eth_dev_adjust_nb_rx_tx_desc(pid, &nb_rxd, &nb_txd);
	for (unsigned q = 0; rc == 0 && q < nq; q++) {
		rc = rte_eth_rx_queue_setup(pid, q, nb_rxd,
					    rte_eth_dev_socket_id(pid), NULL,
					    dp->pool);
		if (rc == 0)
			rc = rte_eth_tx_queue_setup(
				pid, q, nb_txd, rte_eth_dev_socket_id(pid),
				NULL);
	}
	if (rc == 0)
		rc = rte_eth_dev_start(pid);
	if (rc != 0) {
		fprintf(stderr, "port %s: setup: %s\n", pc->name,
			rte_strerror(rc < 0 ? -rc : rc));
		return -1;
	}
	rte_eth_macaddr_get(pid, &mac);
	p->port_id = pid;
	p->index = (uint8_t)idx;
	memcpy(p->mac, mac.addr_bytes, 6);
	p->addr = pc->addr;
	p->mask = hg_ipv4_mask(pc->prefix_len);
	p->gateway = pc->gateway;
	p->mtu = pc->mtu;

	struct hg_chan_port_info *pi = &dp->chan.hdr->ports[idx];
	snprintf(pi->name, sizeof(pi->name), "%s", pc->name);
	snprintf(pi->driver, sizeof(pi->driver), "%s", info.driver_name);
	memcpy(pi->mac, p->mac, 6);
	pi->port_id = pid;
	pi->addr = pc->addr;
	pi->prefix_len = pc->prefix_len;
	pi->mtu = pc->mtu;
	return 0;
}

int hg_ports_init(struct hg_dp *dp)
{
	dp->n_ports = dp->cfg.n_ports;
	for (unsigned i = 0; i < dp->n_ports; i++) {
		if (port_setup(dp, i) < 0)
			return -1;
	}
	dp->chan.hdr->n_ports = dp->n_ports;
	hg_ports_publish(dp);
	return 0;
}

void hg_ports_publish(struct hg_dp *dp)
{
	for (unsigned i = 0; i < dp->n_ports; i++) {
		struct rte_eth_link link;
		struct hg_chan_port_info *pi = &dp->chan.hdr->ports[i];

		if (rte_eth_link_get_nowait(dp->ports[i].port_id, &link) != 0)
			continue;
		pi->link_up = link.link_status == RTE_ETH_LINK_UP;
		pi->link_speed_mbps = link.link_speed;
	}
}

void hg_ports_close(struct hg_dp *dp)
{
	for (unsigned i = 0; i < dp->n_ports; i++) {
		rte_eth_dev_stop(dp->ports[i].port_id);
		rte_eth_dev_close(dp->ports[i].port_id);
	}
}
