/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * parse_result.h: value of parse_prog.bpf.c's result_map, shared by the BPF
 * program and test_parse_bpf.c so the two cannot disagree on its layout.
 */
#ifndef SLUICE_TEST_PARSE_RESULT_H
#define SLUICE_TEST_PARSE_RESULT_H

#include <sluice/parse.h>

struct sl_parse_result {
	sl_s32 ret; /* sl_parse's return value */
	sl_u32 pad; /* always zero */
	struct sl_pkt pkt;
};
SL_STATIC_ASSERT(sizeof(struct sl_parse_result) == 104, "result_map value ABI");

#endif /* SLUICE_TEST_PARSE_RESULT_H */
