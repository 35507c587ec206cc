# SPDX-License-Identifier: Apache-2.0
# Run by `cmake --install` (and cpack): the files that name installed paths, written for the prefix in force
# now. Set by the caller: SM_SRC (packaging/), SM_OUT (a directory of the build), SM_BINDIR, SM_LIBDIR, SM_INCLUDEDIR, SM_DOCDIR, SM_VERSION,
# SM_LINK_EXTRA (link flags a program of the library needs: the sanitizers of a sanitizer build).
set(SM_PREFIX "${CMAKE_INSTALL_PREFIX}")
string(REGEX REPLACE "/+$" "" SM_PREFIX "${SM_PREFIX}")
# the FHS: a package (prefix /usr) keeps its configuration in /etc; a local install in PREFIX/etc
if(SM_PREFIX STREQUAL "/usr" OR SM_PREFIX STREQUAL "")
  set(SM_CONFDIR "/etc/starmark")
else()
  set(SM_CONFDIR "${SM_PREFIX}/etc/starmark")
endif()
set(SM_STARMARKD "${SM_PREFIX}/${SM_BINDIR}/starmarkd")
set(SM_DOC "${SM_PREFIX}/${SM_DOCDIR}")
set(SM_STATEDIR "/var/lib/starmark")

set(out "${SM_OUT}")
file(MAKE_DIRECTORY "${out}")
configure_file("${SM_SRC}/starmarkd.service" "${out}/starmarkd.service" @ONLY)
configure_file("${SM_SRC}/starmarkd.conf" "${out}/starmarkd.conf" @ONLY)
configure_file("${SM_SRC}/starmark.pc.in" "${out}/starmark.pc" @ONLY)
file(INSTALL "${out}/starmarkd.service" DESTINATION "${SM_PREFIX}/lib/systemd/system" FILE_PERMISSIONS OWNER_READ OWNER_WRITE GROUP_READ WORLD_READ)
file(INSTALL "${out}/starmarkd.conf" DESTINATION "${SM_CONFDIR}" FILE_PERMISSIONS OWNER_READ OWNER_WRITE GROUP_READ WORLD_READ)
file(INSTALL "${out}/starmark.pc" DESTINATION "${SM_PREFIX}/${SM_LIBDIR}/pkgconfig" FILE_PERMISSIONS OWNER_READ OWNER_WRITE GROUP_READ WORLD_READ)
