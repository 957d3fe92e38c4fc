/* Counter names, defined once.
 *
 * The data plane increments these; the control plane names them in the
 * `stats` answer. Both sides expand the same X-macro lists, so a counter
 * added here appears everywhere with no second list to keep in step.
 * Counters are per worker, written only by their worker (no atomics) and
 * read by the worker itself when it answers a stats request.
 */
#ifndef HG_COUNTERS_H
#define HG_COUNTERS_H

#include <stdint.h>

/* What a worker did. */
#define HG_WORKER_COUNTERS(X)                                                  \
	X(rx_packets)                                                          \
	X(rx_bytes)                                                            \
	X(tx_packets)                                                          \
	X(tx_bytes)                                                            \
	X(loops)                                                               \
	X(busy_loops)                                                          \
	X(busy_cycles)                                                         \
	X(idle_sleeps)                                                         \
	X(arp_requests_in)                                                     \
	X(arp_replies_in)                                                      \
	X(arp_requests_out)                                                    \
	X(arp_replies_out)                                                     \
	X(arp_learned)                                                         \
	X(arp_queued)                                                          \
	X(arp_queue_released)                                                  \
	X(ipv4_in)                                                             \
	X(icmp_in)                                                             \
	X(icmp_echo_requests)                                                  \
	X(icmp_echo_replies)                                                   \
	X(chan_msgs_in)                                                        \
	X(chan_msgs_out)                                                       \
	X(chan_full)                                                           \
	X(mbufs_in_use) /* gauge, worker 0: the whole pool */                  \
	X(tcp_conns)                                                           \
	X(tcp_timewait)                                                        \
	X(tcp_segs_in)                                                         \
	X(tcp_segs_out)                                                        \
	X(tcp_accepted)                                                        \
	X(tcp_opened)                                                          \
	X(tcp_established)                                                     \
	X(tcp_closed)                                                          \
	X(tcp_resets_in)                                                       \
	X(tcp_resets_out)                                                      \
	X(tcp_aborted)                                                         \
	X(tcp_refused)                                                         \
	X(tcp_retransmits)                                                     \
	X(tcp_fast_retransmits)                                                \
	X(tcp_rto)                                                             \
	X(tcp_tail_probes)                                                     \
	X(tcp_dup_acks)                                                        \
	X(tcp_ooo_segments)                                                    \
	X(tcp_sack_blocks_in)                                                  \
	X(tcp_syncookies_sent)                                                 \
	X(tcp_syncookies_ok)                                                   \
	X(tcp_syncookies_bad)                                                  \
	X(tcp_challenge_acks)                                                  \
	X(tcp_zero_window_probes)                                              \
	X(tcp_keepalive_probes)                                                \
	X(tcp_timeouts)                                                        \
	X(tcp_idle_timeouts)                                                   \
	X(tcp_timewait_recycled)                                               \
	X(tcp_delayed_acks)                                                    \
	X(tcp_bytes_in)                                                        \
	X(tcp_bytes_out)                                                       \
	X(tcp_steered)                                                         \
	X(relay_flows)                                                         \
	X(relay_active)                                                        \
	X(relay_bytes_c2b)                                                     \
	X(relay_bytes_b2c)                                                     \
	X(relay_bytes_copied)                                                  \
	X(relay_segments_split)                                                \
	X(relay_table_full)                                                    \
	X(relay_no_backend)                                                    \
	X(relay_connect_failures)                                              \
	X(relay_retries)                                                       \
	X(relay_resets_propagated)                                             \
	X(relay_killed)                                                        \
	X(tls_handshakes_started) /* client bytes first sent to the cp */     \
	X(tls_handshakes_completed) /* keys arrived from the cp */            \
	X(tls_handshakes_failed)                                               \
	X(tls_handshake_timeouts)                                              \
	X(tls_records_in)                                                      \
	X(tls_records_out)                                                     \
	X(tls_plain_bytes_in)                                                  \
	X(tls_plain_bytes_out)                                                 \
	X(tls_decrypt_failures) /* bad_record_mac sent, flow closed */         \
	X(tls_bad_records) /* malformed framing or content, flow closed */    \
	X(tls_key_updates_in)                                                  \
	X(tls_key_updates_out)                                                 \
	X(tls_alerts_in)                                                       \
	X(tls_alerts_out)                                                      \
	X(tls_close_notify_in)                                                 \
	X(tls_close_notify_out)                                                \
	X(tls_nomem) /* an mbuf for a record header or tag was missing */     \
	X(tls_hs_bytes_to_cp)                                                  \
	X(tls_hs_bytes_from_cp)

/* Why a worker dropped a packet. Parsers in lib/pkt.h return these. */
#define HG_DROP_REASONS(X)                                                     \
	X(eth_truncated)                                                       \
	X(eth_not_for_us)                                                      \
	X(eth_unknown_type)                                                    \
	X(eth_vlan)                                                            \
	X(arp_truncated)                                                       \
	X(arp_bad_format)                                                      \
	X(arp_bad_source)                                                      \
	X(arp_not_for_us)                                                      \
	X(ipv4_truncated)                                                      \
	X(ipv4_bad_version)                                                    \
	X(ipv4_bad_header_len)                                                 \
	X(ipv4_bad_total_len)                                                  \
	X(ipv4_bad_checksum)                                                   \
	X(ipv4_bad_source)                                                     \
	X(ipv4_fragment)                                                       \
	X(ipv4_options)                                                        \
	X(ipv4_not_for_us)                                                     \
	X(ipv4_unknown_proto)                                                  \
	X(icmp_truncated)                                                      \
	X(icmp_bad_checksum)                                                   \
	X(icmp_unhandled_type)                                                 \
	X(tcp_truncated)                                                       \
	X(tcp_bad_offset)                                                      \
	X(tcp_bad_option)                                                      \
	X(tcp_bad_checksum)                                                    \
	X(tcp_bad_flags)                                                       \
	X(tcp_no_listener)                                                     \
	X(tcp_table_full)                                                      \
	X(tcp_out_of_window)                                                   \
	X(tcp_paws)                                                            \
	X(tcp_bad_ack)                                                         \
	X(tcp_ooo_full)                                                        \
	X(tcp_rcv_full)                                                        \
	X(tcp_after_close)                                                     \
	X(tcp_steer_full)                                                      \
	X(no_route)                                                            \
	X(arp_queue_full)                                                      \
	X(arp_timeout)                                                         \
	X(tx_full)                                                             \
	X(no_mbuf)

/* Per port, per worker: what crossed the port and what it lost. */
#define HG_PORT_COUNTERS(X)                                                    \
	X(rx_packets)                                                          \
	X(rx_bytes)                                                            \
	X(tx_packets)                                                          \
	X(tx_bytes)                                                            \
	X(rx_dropped)                                                          \
	X(tx_dropped)

/* Per port, from the poll-mode driver (rte_eth_stats), reported by worker 0. */
#define HG_PMD_COUNTERS(X)                                                     \
	X(ipackets)                                                            \
	X(opackets)                                                            \
	X(ibytes)                                                              \
	X(obytes)                                                              \
	X(imissed)                                                             \
	X(ierrors)                                                             \
	X(oerrors)                                                             \
	X(rx_nombuf)

#define HG_ENUM_WC(name) HG_WC_##name,
#define HG_ENUM_DROP(name) HG_DROP_##name,
#define HG_ENUM_PC(name) HG_PC_##name,
#define HG_ENUM_PMD(name) HG_PMD_##name,

enum hg_worker_counter { HG_WORKER_COUNTERS(HG_ENUM_WC) HG_WC_COUNT };
/* HG_DROP_NONE (0) means "keep the packet"; parsers return it on success. */
enum hg_drop { HG_DROP_NONE = 0, HG_DROP_REASONS(HG_ENUM_DROP) HG_DROP_COUNT };
enum hg_port_counter { HG_PORT_COUNTERS(HG_ENUM_PC) HG_PC_COUNT };
enum hg_pmd_counter { HG_PMD_COUNTERS(HG_ENUM_PMD) HG_PMD_COUNT };

extern const char *const hg_worker_counter_names[HG_WC_COUNT];
extern const char *const hg_drop_names[HG_DROP_COUNT];
extern const char *const hg_port_counter_names[HG_PC_COUNT];
extern const char *const hg_pmd_counter_names[HG_PMD_COUNT];

#endif
