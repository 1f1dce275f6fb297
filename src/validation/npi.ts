/**
 * NPI (National Provider Identifier) check digit: Luhn over the 9 leading digits prefixed with 80840
 * (ISO card issuer prefix for US health), as required by US Core 7 us-core-17.
 */
export function npiCheckDigit(first9: string): number {
  const payload = '80840' + first9;
  let sum = 0;
  let double = true; // the rightmost payload digit is doubled (the check digit would follow it)
  for (let i = payload.length - 1; i >= 0; i--) {
    let d = payload.charCodeAt(i) - 48;
    if (double) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
    double = !double;
  }
  return (10 - (sum % 10)) % 10;
}

/** us-core-16: exactly 10 digits. */
export function isNpiFormat(value: string): boolean {
  return /^[0-9]{10}$/.test(value);
}

/** us-core-16 + us-core-17: 10 digits with a valid Luhn check digit. */
export function isValidNpi(value: string): boolean {
  return isNpiFormat(value) && npiCheckDigit(value.slice(0, 9)) === value.charCodeAt(9) - 48;
}
