/**
 * The answers the bench's stand-in servers send (bench/peers/floor-server.ts,
 * bench/writer-thread/server.ts), of the size and shape tokend's are.
 */

/** A valid Invoicebox check's answer. */
export const CHECK_ANSWER = { data: { userId: '01771533-8e75-3234-8e3d-9213ae2d7c52', profile: null, accessToken: null }, extendedData: [] };

/** A ChatApp pair, as a refresh answers it. */
export const PAIR = {
  success: true,
  data: {
    cabinetUserId: 14545,
    accessToken: 'tda_0123456789ABCDEFGHIJabcdefghij012',
    accessTokenEndTime: 1625915202,
    refreshToken: 'tdr_0123456789ABCDEFGHIJabcdefghij012',
    refreshTokenEndTime: 1626001602,
  },
};
