# Reference values for causal_kit.synthesize (tests/reference/test_synthesis_reference.py).
# metafor 3.8.1, R 4.x. Run: Rscript tests/reference/make_metafor_synthesis.R
# Datasets: dat.bcg (BCG vaccine trials, log risk ratios), its first 5 trials, and a homogeneous set
# (tau^2 truncated at zero).
library(metafor)
dat <- escalc(measure = "RR", ai = tpos, bi = tneg, ci = cpos, di = cneg, data = dat.bcg)
sets <- list(
  bcg = data.frame(yi = dat$yi, vi = dat$vi),
  bcg5 = data.frame(yi = dat$yi[1:5], vi = dat$vi[1:5]),
  homogeneous = data.frame(yi = c(0.10, 0.12, 0.08, 0.11), vi = c(0.04, 0.05, 0.03, 0.06))
)
fmt <- function(x) formatC(x, digits = 15, format = "g")
cat("{\n")
first <- TRUE
for (name in names(sets)) {
  d <- sets[[name]]
  cat(sprintf('  "%s": {"yi": [%s], "vi": [%s],\n', name, paste(fmt(d$yi), collapse = ", "),
              paste(fmt(d$vi), collapse = ", ")))
  fits <- c()
  for (method in c("DL", "REML")) {
    for (test in c("z", "knha", "adhoc")) {
      # a tight threshold: the default (1e-5 on the change in tau^2) stops REML short of the optimum
      m <- rma(yi, vi, data = d, method = method, test = test, control = list(threshold = 1e-12, maxiter = 1000))
      p <- predict(m)
      fits <- c(fits, sprintf(paste0('    "%s_%s": {"mu": %s, "se": %s, "ci_lb": %s, "ci_ub": %s, "pval": %s, ',
                                     '"tau2": %s, "I2": %s, "H2": %s, "QE": %s, "QEp": %s, "pi_lb": %s, "pi_ub": %s}'),
                              method, test, fmt(m$b[1]), fmt(m$se), fmt(m$ci.lb), fmt(m$ci.ub), fmt(m$pval),
                              fmt(m$tau2), fmt(m$I2), fmt(m$H2), fmt(m$QE), fmt(m$QEp), fmt(p$pi.lb), fmt(p$pi.ub)))
    }
  }
  cat(paste(fits, collapse = ",\n"))
  cat("\n  }")
  if (name != tail(names(sets), 1)) cat(",")
  cat("\n")
}
cat("}\n")
