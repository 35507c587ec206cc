/* SPDX-License-Identifier: Apache-2.0 */
/* libstarmark: the whole public API. */
#ifndef STARMARK_STARMARK_H
#define STARMARK_STARMARK_H

#include "starmark/buf.h"
#include "starmark/checkpoint.h"
#include "starmark/codec.h"
#include "starmark/cose.h"
#include "starmark/csv.h"
#include "starmark/error.h"
#include "starmark/json.h"
#include "starmark/keys.h"
#include "starmark/merkle.h"
#include "starmark/record.h"
#include "starmark/registry.h"
#include "starmark/transfer.h"
#include "starmark/trust.h"
#include "starmark/anchor.h"
#include "starmark/backup.h"
#include "starmark/home.h"
#include "starmark/verdict.h"
#include "starmark/version.h"

/** The library's version, "MAJOR.MINOR.PATCH". */
const char *sm_version_string(void);

#endif
