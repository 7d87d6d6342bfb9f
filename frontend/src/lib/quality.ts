// OPC UA status codes: the top two bits give the quality (Part 4, 7.39).

export type Quality = 'good' | 'uncertain' | 'bad';

export function qualityOf(code: number): Quality {
  switch ((code >>> 30) & 0b11) {
    case 0b00:
      return 'good';
    case 0b01:
      return 'uncertain';
    default:
      return 'bad'; // 0b11 is reserved; treat it as bad rather than trust it
  }
}

// Names of the codes an operator is likely to meet; the rest are shown in hex.
const NAMES: Record<number, string> = {
  0x00000000: 'Good',
  0x00300000: 'GoodClamped',
  0x00960000: 'GoodLocalOverride',
  0x40000000: 'Uncertain',
  0x408f0000: 'UncertainNoCommunicationLastUsableValue',
  0x40900000: 'UncertainLastUsableValue',
  0x40910000: 'UncertainSubstituteValue',
  0x40920000: 'UncertainInitialValue',
  0x40930000: 'UncertainSensorNotAccurate',
  0x40940000: 'UncertainEngineeringUnitsExceeded',
  0x40950000: 'UncertainSubNormal',
  0x420f0000: 'UncertainConfigurationError',
  0x80000000: 'Bad',
  0x80010000: 'BadUnexpectedError',
  0x80020000: 'BadInternalError',
  0x80040000: 'BadResourceUnavailable',
  0x80050000: 'BadCommunicationError',
  0x800a0000: 'BadTimeout',
  0x800c0000: 'BadShutdown',
  0x800d0000: 'BadServerNotConnected',
  0x800e0000: 'BadServerHalted',
  0x801f0000: 'BadUserAccessDenied',
  0x80260000: 'BadSessionClosed',
  0x80310000: 'BadNoCommunication',
  0x80320000: 'BadWaitingForInitialData',
  0x80330000: 'BadNodeIdInvalid',
  0x80340000: 'BadNodeIdUnknown',
  0x803a0000: 'BadNotReadable',
  0x803b0000: 'BadNotWritable',
  0x803c0000: 'BadOutOfRange',
  0x803d0000: 'BadNotSupported',
  0x803e0000: 'BadNotFound',
  0x80740000: 'BadTypeMismatch',
  0x80850000: 'BadRequestTimeout',
  0x80860000: 'BadSecureChannelClosed',
  0x80890000: 'BadConfigurationError',
  0x808a0000: 'BadNotConnected',
  0x808b0000: 'BadDeviceFailure',
  0x808c0000: 'BadSensorFailure',
  0x808d0000: 'BadOutOfService',
  0x80ac0000: 'BadConnectionRejected',
  0x80ad0000: 'BadDisconnect',
  0x80ae0000: 'BadConnectionClosed',
};

export function hex(code: number): string {
  return '0x' + (code >>> 0).toString(16).toUpperCase().padStart(8, '0');
}

/**
 * The status code's name. The low 16 bits are info bits (overflow, limits, ...), so a code
 * is named by its top 16 bits and the info bits are shown in hex beside it.
 */
export function statusName(code: number): string {
  const c = code >>> 0;
  const exact = NAMES[c];
  if (exact !== undefined) return exact;
  const base = NAMES[(c & 0xffff0000) >>> 0];
  if (base !== undefined) return `${base} (${hex(c)})`;
  return hex(c);
}
