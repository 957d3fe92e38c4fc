/* Fuzz target: the control API's request parser (untrusted input from the
 * control socket). */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "api.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct hg_api_req req;
	char err[256];

	if (hg_api_parse((const char *)data, size, NULL, &req, err, sizeof(err)) ==
	    0) {
		if (req.cmd >= HG_CMD_COUNT)
			abort();
		json_decref(req.id);
	} else if (err[0] == '\0') {
		abort(); /* every refusal says why */
	}
	return 0;
}
