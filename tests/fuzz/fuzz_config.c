/* libFuzzer target for the config loader.
 *
 * Any input must be either refused with a message or accepted; an accepted
 * config must survive hg_config_to_json and load again into the very same
 * struct (the round-trip property config.h promises). ASan/UBSan catch the
 * rest.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_round_trip(const struct hg_config *first)
{
	struct hg_config again;
	char err[256];
	char *json;

	json = hg_config_to_json(first);
	if (json == NULL)
		abort();
	memset(&again, 0, sizeof(again));
	if (hg_config_load_string(json, &again, err, sizeof(err)) != 0)
		abort();
	if (memcmp(first, &again, sizeof(again)) != 0)
		abort();
	free(json);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct hg_config cfg;
	char err[256];
	char *text;

	/* The loader takes a C string: the input up to its first NUL. */
	text = malloc(size + 1);
	if (text == NULL)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';

	memset(&cfg, 0, sizeof(cfg));
	err[0] = '\0';
	if (hg_config_load_string(text, &cfg, err, sizeof(err)) == 0)
		check_round_trip(&cfg);
	else if (err[0] == '\0' || memchr(err, '\0', sizeof(err)) == NULL)
		abort(); /* every refusal says why, NUL-terminated */
	free(text);
	return 0;
}
