# Installation and the Debian package (`make deb`, docs/operations.md).
#
# The package installs under /usr: the binaries in /usr/bin, the default
# policies, calendar and examples in /usr/share/signpost, the docs in
# /usr/share/doc/signpost, one systemd unit per service (and signpost.target)
# in /usr/lib/systemd/system, and, as conffiles, an environment file per
# service and the agency registry in /etc/signpost. The units and the
# environment files name those /usr and /etc paths, so they are meant for
# the package (or an install with --prefix /usr).
include(GNUInstallDirs)

set(SIGNPOST_SERVICES intake triage advocacy orders notification)
set(SIGNPOST_CONF_DIR /etc/signpost)
set(SIGNPOST_DATA_DIR ${CMAKE_INSTALL_DATADIR}/signpost)
set(SIGNPOST_UNIT_DIR lib/systemd/system)

foreach(svc IN LISTS SIGNPOST_SERVICES)
  install(TARGETS signpost-${svc} RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
endforeach()
install(TARGETS signpost-devbroker signpost-cli
  RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
# The development PKI, as in the image.
install(PROGRAMS scripts/dev-pki DESTINATION ${CMAKE_INSTALL_BINDIR}
  RENAME signpost-dev-pki)

# What the services read at start; the environment files point at these.
install(FILES deploy/policy/default.textproto
  deploy/policy/cambridgeshire-marac17.textproto
  deploy/policy/retention.textproto
  DESTINATION ${SIGNPOST_DATA_DIR}/policy)
install(FILES deploy/calendar/england-and-wales.txt
  DESTINATION ${SIGNPOST_DATA_DIR}/calendar)
install(FILES deploy/kafka/topics.txt DESTINATION ${SIGNPOST_DATA_DIR}/kafka)
install(PROGRAMS deploy/kafka/create-topics.sh
  DESTINATION ${SIGNPOST_DATA_DIR}/kafka)
install(FILES deploy/prometheus/prometheus.yml deploy/prometheus/alerts.yml
  DESTINATION ${SIGNPOST_DATA_DIR}/prometheus)
install(DIRECTORY examples/ DESTINATION ${SIGNPOST_DATA_DIR}/examples)

install(FILES README.md DESTINATION ${CMAKE_INSTALL_DOCDIR})
file(GLOB SIGNPOST_DOCS ${PROJECT_SOURCE_DIR}/docs/*.md)
install(FILES ${SIGNPOST_DOCS} DESTINATION ${CMAKE_INSTALL_DOCDIR})

# systemd: one unit per service, the target, and their settings. The
# environment files may hold the Kafka SASL password: root only (systemd
# reads them before dropping to the signpost user).
foreach(svc IN LISTS SIGNPOST_SERVICES)
  install(FILES deploy/systemd/signpost-${svc}.service
    DESTINATION ${SIGNPOST_UNIT_DIR})
  install(FILES deploy/systemd/${svc}.env DESTINATION ${SIGNPOST_CONF_DIR}
    PERMISSIONS OWNER_READ OWNER_WRITE)
  list(APPEND SIGNPOST_CONFFILES ${SIGNPOST_CONF_DIR}/${svc}.env)
endforeach()
install(FILES deploy/systemd/signpost.target DESTINATION ${SIGNPOST_UNIT_DIR})
install(FILES deploy/access/agencies.textproto
  DESTINATION ${SIGNPOST_CONF_DIR}/access)
list(APPEND SIGNPOST_CONFFILES ${SIGNPOST_CONF_DIR}/access/agencies.textproto)

# The Debian package.
set(SIGNPOST_DEBIAN_DIR ${PROJECT_BINARY_DIR}/debian)
list(JOIN SIGNPOST_CONFFILES "\n" SIGNPOST_CONFFILES_TEXT)
file(WRITE ${SIGNPOST_DEBIAN_DIR}/conffiles "${SIGNPOST_CONFFILES_TEXT}\n")
foreach(script postinst prerm postrm)
  # Copied, so that the package gets them with their mode (0755).
  configure_file(deploy/debian/${script} ${SIGNPOST_DEBIAN_DIR}/${script}
    COPYONLY)
endforeach()

set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME signpost)
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGE_VENDOR "Signpost")
set(SIGNPOST_PACKAGE_MAINTAINER "Signpost maintainers <maintainers@signpost.invalid>"
  CACHE STRING "the Maintainer field of the Debian package")
set(CPACK_PACKAGE_CONTACT "${SIGNPOST_PACKAGE_MAINTAINER}")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY
  "routes referrals of victims of crime to support")
set(CPACK_PACKAGE_DESCRIPTION
  "Signpost's five services (intake, triage, advocacy, orders and
notification) with systemd units, the signpost-cli client, the embedded
Kafka broker for development (signpost-devbroker) and the default routing
policy, retention policy and court calendar. The services run as the
signpost system user under hardened units and talk over gRPC with mutual
TLS and a Kafka event log.")
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_STRIP_FILES ON)
set(CPACK_PACKAGE_FILE_NAME
  "signpost_${PROJECT_VERSION}_${CMAKE_SYSTEM_PROCESSOR}")
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SECTION net)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
# The maintainer scripts' own needs (the user, the timezone database the
# calendar and safe-contact windows use, openssl for signpost-dev-pki).
set(CPACK_DEBIAN_PACKAGE_DEPENDS "adduser, tzdata")
set(CPACK_DEBIAN_PACKAGE_RECOMMENDS "openssl")
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION ON)
set(CPACK_DEBIAN_PACKAGE_CONTROL_EXTRA
  ${SIGNPOST_DEBIAN_DIR}/conffiles ${SIGNPOST_DEBIAN_DIR}/postinst
  ${SIGNPOST_DEBIAN_DIR}/prerm ${SIGNPOST_DEBIAN_DIR}/postrm)
include(CPack)
