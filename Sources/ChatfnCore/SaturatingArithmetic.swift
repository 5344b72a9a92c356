/// Arithmetic on numbers that come from outside (record headers, timestamps, configuration): a value at
/// the edge of its type clamps instead of trapping, so no record can crash chatfn with an overflow.
extension FixedWidthInteger {
    /// `self + other`, clamped to the type's range.
    package func addingSaturated(_ other: Self) -> Self {
        let (sum, overflow) = addingReportingOverflow(other)
        guard overflow else { return sum }
        return other > .zero ? .max : .min
    }

    /// `self - other`, clamped to the type's range.
    package func subtractingSaturated(_ other: Self) -> Self {
        let (difference, overflow) = subtractingReportingOverflow(other)
        guard overflow else { return difference }
        return other < .zero ? .max : .min
    }

    /// `self * other`, clamped to the type's range.
    package func multipliedSaturated(by other: Self) -> Self {
        let (product, overflow) = multipliedReportingOverflow(by: other)
        guard overflow else { return product }
        return (self < .zero) != (other < .zero) ? .min : .max
    }
}
