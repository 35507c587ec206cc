/* SPDX-License-Identifier: Apache-2.0 */
/* Private: what the label modules share. */
#ifndef STARMARK_LABEL_INT_H
#define STARMARK_LABEL_INT_H

#include <stddef.h>

#include "starmark/error.h"

/** Prefix err's message with the place and id of a failed label of a sheet or a batch
 * ("labels[3] (SM-2024-000123): ..."), its field "labels[3]"; returns rc. */
int sm_label_item_failed(int rc, size_t i, const char *id, sm_err *err);

#endif
