/* libFuzzer target: a remote STA's HTTP answer (controlplane/sta_remote.c)
 * as it arrives, in pieces, then the XML body through the ResponseData
 * parser, as the worker does.
 *
 * Besides memory errors (ASan/UBSan), it abort()s when:
 * - fed in two pieces (the first byte of input picks the cut), the
 *   answer parses to the same result as in one piece;
 * - a parsed body lies inside the input, and with a Content-Length the
 *   answer is exactly head plus body.
 */
#include <stdlib.h>
#include <string.h>

#include "sta.h"
#include "sta_remote.h"
#include "sta_xml.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct hg_sta_remote_answer a1, a2;
	struct hg_sta_entry e;
	size_t scanned = 0, cut;
	int whole, part;

	if (size < 1)
		return 0;
	cut = size > 1 ? data[0] % size : 0;
	data++;
	size--;
	if (cut > size)
		cut = size;
	memset(&a1, 0, sizeof(a1));
	memset(&a2, 0, sizeof(a2));
	whole = hg_sta_remote_http_answer(data, size, true, &scanned, &a1);
	scanned = 0;
	part = hg_sta_remote_http_answer(data, cut, false, &scanned, &a2);
	if (part == -2)
		part = hg_sta_remote_http_answer(data, size, true, &scanned,
						 &a2);
	else if (part == 0 && cut < size)
		part = whole == 0 ? 0 : part; /* complete early: a prefix */
	if (whole == 0) {
		if (a1.body_off > size || a1.body_len > size - a1.body_off)
			abort();
		if (part == 0 && cut == size &&
		    (a1.status != a2.status || a1.body_off != a2.body_off ||
		     a1.body_len != a2.body_len))
			abort();
		hg_sta_xml_parse_data_response(data + a1.body_off, a1.body_len,
					       &e);
	}
	return 0;
}
