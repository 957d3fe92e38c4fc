/* Built-in TCP test services: echo, discard, source (see tcp_svc.c). */
#ifndef HG_TCP_SVC_H
#define HG_TCP_SVC_H

#include "tcp.h"

void hg_svc_init(void);
/* The callbacks of a service; a listener or an active open passes them
 * with app = (void *)(uintptr_t)limit for source (0: endless). */
const struct hg_tcp_ops *hg_svc_ops(enum hg_tcp_service svc);

#endif
