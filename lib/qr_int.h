/* SPDX-License-Identifier: Apache-2.0 */
/* Private: QR symbols from libqrencode with the mask chosen here, quickly. */
#ifndef STARMARK_QR_INT_H
#define STARMARK_QR_INT_H

#include <qrencode.h>

/**
 * Encode `text` (printable ASCII) at error correction `ec` (0..3: L, M, Q, H) in the smallest
 * version that holds it. A text that is all in the alphanumeric set (0-9, A-Z, space, $%*+-./:),
 * as every label URL is (sm_label_url upper-cases it), goes in alphanumeric mode; any other text in
 * byte mode.
 *
 * libqrencode places the data and error correction (QRcode_encodeMask with mask -2: the frame
 * before masking; or, where that is not exported, its finished symbol unmasked); the mask is chosen here by the penalty rules of ISO/IEC 18004:2015 7.8.3,
 * computed on rows of bits, the lowest penalty winning and the lower mask number on a tie.
 * libqrencode's own choice cost 90% of encoding a symbol (bench/labels.sh).
 *
 * The symbol (QRcode_free it), or NULL with errno: ERANGE for a text too long for version 40 at
 * `ec`, EINVAL for a bad `ec` or text, ENOMEM.
 */
QRcode *sm_qr_encode(const char *text, int ec);

/**
 * A finished symbol of libqrencode's back to the frame before masking: the mask its format
 * information names taken off the data modules, the format modules light again (0x84). What
 * sm_qr_encode starts from where libqrencode does not export QRcode_encodeMask.
 */
void sm_qr_unmask(QRcode *q);

/** The mask penalty (N1 + N2 + N3 + N4 of ISO/IEC 18004:2015 7.8.3.1) of a finished symbol. */
unsigned long sm_qr_penalty(const QRcode *q);

#endif
