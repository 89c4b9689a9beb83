// Standard VAT rates of the countries this shop sells to (shared by tax and order validation).
// Rates are fractions, as Commerce Layer takes them: 0.22, not 22.
export const VAT: Readonly<Record<string, number>> = {
  AT: 0.2,
  BE: 0.21,
  DE: 0.19,
  ES: 0.21,
  FR: 0.2,
  IE: 0.23,
  IT: 0.22,
  NL: 0.21,
  PT: 0.23,
}
