#include "counters.h"

#define HG_NAME(name) #name,

const char *const hg_worker_counter_names[HG_WC_COUNT] = {
	HG_WORKER_COUNTERS(HG_NAME)};
const char *const hg_drop_names[HG_DROP_COUNT] = {"none",
						   HG_DROP_REASONS(HG_NAME)};
const char *const hg_port_counter_names[HG_PC_COUNT] = {
	HG_PORT_COUNTERS(HG_NAME)};
const char *const hg_pmd_counter_names[HG_PMD_COUNT] = {
	HG_PMD_COUNTERS(HG_NAME)};
