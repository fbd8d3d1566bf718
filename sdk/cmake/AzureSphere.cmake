# Rampart's Azure-Sphere-compatible CMake layer (docs/sdk.md).
#
# A high-level Azure Sphere sample's CMakeLists.txt builds unchanged:
#   azsphere_configure_tools(TOOLS_REVISION "23.05")
#   azsphere_configure_api(TARGET_API_SET "16")
#   add_executable(${PROJECT_NAME} main.c)
#   target_link_libraries(${PROJECT_NAME} applibs gcc_s c)
#   azsphere_target_hardware_definition(${PROJECT_NAME}
#       TARGET_DIRECTORY "HardwareDefinitions/x" TARGET_DEFINITION "sample_appliance.json")
#   azsphere_target_add_image_package(${PROJECT_NAME} [RESOURCE_FILES ...])
#
# Inputs (cache variables, set by the toolchain file or on the command line):
#   RAMPART_CLI              the rampart program
#   RAMPART_APPLIBS_PC_DIR   where applibs.pc (or applibs-uninstalled.pc) is
#   RAMPART_SIGNING_KEY      optional: a key to sign <target>.imagepackage with
# `rampart package build` sets the first two and packs the app itself from
# the description this layer writes (rampart-image.json in the build dir).
include_guard(GLOBAL)

set(RAMPART_SIGNING_KEY "$ENV{RAMPART_SIGNING_KEY}" CACHE FILEPATH
    "Key to sign image packages with (rampart key generate); empty: do not pack")

# The imported target "applibs", so that target_link_libraries(... applibs)
# links the SDK library, its include directory and jansson.
function(_rampart_applibs_target)
  if(TARGET applibs)
    return()
  endif()
  if(RAMPART_APPLIBS_PC_DIR)
    set(ENV{PKG_CONFIG_PATH} "${RAMPART_APPLIBS_PC_DIR}:$ENV{PKG_CONFIG_PATH}")
  endif()
  find_package(PkgConfig REQUIRED)
  pkg_check_modules(RAMPART_APPLIBS REQUIRED applibs)
  # The uninstalled .pc names build-tree include directories that may not
  # exist; an imported target must not carry those.
  set(incs "")
  foreach(d IN LISTS RAMPART_APPLIBS_INCLUDE_DIRS)
    if(IS_DIRECTORY "${d}")
      list(APPEND incs "${d}")
    endif()
  endforeach()
  add_library(applibs INTERFACE IMPORTED GLOBAL)
  set_target_properties(applibs PROPERTIES
    INTERFACE_INCLUDE_DIRECTORIES "${incs}"
    INTERFACE_COMPILE_OPTIONS "${RAMPART_APPLIBS_CFLAGS_OTHER}"
    INTERFACE_LINK_LIBRARIES "${RAMPART_APPLIBS_LINK_LIBRARIES};${RAMPART_APPLIBS_LDFLAGS_OTHER}")
endfunction()

function(_rampart_cli)
  if(NOT RAMPART_CLI)
    find_program(RAMPART_CLI rampart)
  endif()
  if(NOT RAMPART_CLI)
    message(FATAL_ERROR "rampart: the rampart program was not found; set RAMPART_CLI "
                        "or use the toolchain file (docs/sdk.md)")
  endif()
endfunction()

# Azure picks a tools revision and an API set; Rampart has one of each and
# accepts any value.
function(azsphere_configure_tools)
  cmake_parse_arguments(PARSE_ARGV 0 ARG "" "TOOLS_REVISION" "")
  _rampart_applibs_target()
endfunction()

function(azsphere_configure_api)
  cmake_parse_arguments(PARSE_ARGV 0 ARG "" "TARGET_API_SET" "")
  _rampart_applibs_target()
endfunction()

# Generate hw/<definition>.h from the hardware definition with
# `rampart board generate-header` and put it on the target's include path.
function(azsphere_target_hardware_definition target)
  cmake_parse_arguments(PARSE_ARGV 1 HW "" "TARGET_DEFINITION" "TARGET_DIRECTORY")
  _rampart_cli()
  if(NOT HW_TARGET_DEFINITION)
    message(FATAL_ERROR "azsphere_target_hardware_definition: TARGET_DEFINITION is required")
  endif()
  if(NOT HW_TARGET_DIRECTORY)
    message(FATAL_ERROR "azsphere_target_hardware_definition: TARGET_DIRECTORY is required")
  endif()
  set(board "")
  set(dirs "")
  set(dir_args "")
  foreach(d IN LISTS HW_TARGET_DIRECTORY)
    get_filename_component(abs "${d}" ABSOLUTE BASE_DIR "${CMAKE_CURRENT_SOURCE_DIR}")
    list(APPEND dirs "${abs}")
    list(APPEND dir_args --hw-dir "${abs}")
    if(NOT board AND EXISTS "${abs}/${HW_TARGET_DEFINITION}")
      set(board "${abs}/${HW_TARGET_DEFINITION}")
    endif()
  endforeach()
  if(NOT board)
    message(FATAL_ERROR "azsphere_target_hardware_definition: ${HW_TARGET_DEFINITION} "
                        "is in none of: ${HW_TARGET_DIRECTORY}")
  endif()
  set(inc "${CMAKE_CURRENT_BINARY_DIR}/rampart-hw/${target}/inc")
  file(MAKE_DIRECTORY "${inc}/hw")
  # The header of each definition includes those of its imports
  # (#include "mt3620.h"): generate them too, found beside it or in the
  # TARGET_DIRECTORY list.
  set(todo "${board}")
  set(done "")
  while(todo)
    list(POP_FRONT todo def)
    list(APPEND done "${def}")
    get_filename_component(name "${def}" NAME_WE)
    execute_process(
      COMMAND "${RAMPART_CLI}" board generate-header "${def}" -o "${inc}/hw/${name}.h" ${dir_args}
      RESULT_VARIABLE rc ERROR_VARIABLE err OUTPUT_QUIET)
    if(NOT rc EQUAL 0)
      message(FATAL_ERROR "azsphere_target_hardware_definition: rampart board "
                          "generate-header ${def} failed (${rc}): ${err}")
    endif()
    set_property(DIRECTORY APPEND PROPERTY CMAKE_CONFIGURE_DEPENDS "${def}")
    file(STRINGS "${inc}/hw/${name}.h" includes REGEX "^#include \"[A-Za-z0-9_.-]+\\.h\"")
    get_filename_component(here "${def}" DIRECTORY)
    foreach(line IN LISTS includes)
      string(REGEX REPLACE "^#include \"([A-Za-z0-9_.-]+)\\.h\".*" "\\1" imp "${line}")
      set(found "")
      foreach(d IN ITEMS "${here}" ${dirs})
        if(NOT found AND EXISTS "${d}/${imp}.json")
          set(found "${d}/${imp}.json")
        endif()
      endforeach()
      if(found AND NOT found IN_LIST done AND NOT found IN_LIST todo)
        list(APPEND todo "${found}")
      endif()
    endforeach()
  endwhile()
  target_include_directories(${target} PRIVATE "${inc}")
  set_property(DIRECTORY APPEND PROPERTY CMAKE_CONFIGURE_DEPENDS "${board}")
  set_property(TARGET ${target} PROPERTY RAMPART_BOARD "${board}")
  set_property(TARGET ${target} PROPERTY RAMPART_HW_DIRS "${dirs}")
endfunction()

function(_rampart_json_str out value)
  string(REPLACE "\\" "\\\\" v "${value}")
  string(REPLACE "\"" "\\\"" v "${v}")
  set(${out} "\"${v}\"" PARENT_SCOPE)
endfunction()

# Lay out the image's file tree (approot<target>/bin/app plus RESOURCE_FILES
# at their relative paths) after each build, describe it in
# rampart-image.json for `rampart package build`, and, when
# RAMPART_SIGNING_KEY is set, pack and sign <target>.imagepackage.
function(azsphere_target_add_image_package target)
  cmake_parse_arguments(PARSE_ARGV 1 PKG "" "MANIFEST_FILE;DEBUG_LIB;PACKAGE_NAME" "RESOURCE_FILES")
  _rampart_cli()
  set(root "${CMAKE_CURRENT_BINARY_DIR}/approot${target}")
  if(PKG_MANIFEST_FILE)
    get_filename_component(manifest "${PKG_MANIFEST_FILE}" ABSOLUTE
                           BASE_DIR "${CMAKE_CURRENT_SOURCE_DIR}")
  else()
    set(manifest "${CMAKE_CURRENT_SOURCE_DIR}/app_manifest.json")
  endif()
  if(NOT EXISTS "${manifest}")
    message(FATAL_ERROR "azsphere_target_add_image_package: no ${manifest}")
  endif()
  set(copies "")
  foreach(f IN LISTS PKG_RESOURCE_FILES)
    get_filename_component(src "${f}" ABSOLUTE BASE_DIR "${CMAKE_CURRENT_SOURCE_DIR}")
    file(RELATIVE_PATH rel "${CMAKE_CURRENT_SOURCE_DIR}" "${src}")
    if(rel MATCHES "^\\.\\./")
      get_filename_component(rel "${src}" NAME)
    endif()
    get_filename_component(reldir "${rel}" DIRECTORY)
    list(APPEND copies COMMAND "${CMAKE_COMMAND}" -E make_directory "${root}/${reldir}"
                       COMMAND "${CMAKE_COMMAND}" -E copy "${src}" "${root}/${rel}")
  endforeach()
  add_custom_command(TARGET ${target} POST_BUILD
    COMMAND "${CMAKE_COMMAND}" -E rm -rf "${root}"
    COMMAND "${CMAKE_COMMAND}" -E make_directory "${root}/bin"
    COMMAND "${CMAKE_COMMAND}" -E copy "$<TARGET_FILE:${target}>" "${root}/bin/app"
    ${copies}
    VERBATIM)

  get_property(board TARGET ${target} PROPERTY RAMPART_BOARD)
  get_property(dirs TARGET ${target} PROPERTY RAMPART_HW_DIRS)
  set(dir_args "")
  set(dirs_json "")
  foreach(d IN LISTS dirs)
    list(APPEND dir_args --hw-dir "${d}")
    _rampart_json_str(q "${d}")
    list(APPEND dirs_json "${q}")
  endforeach()
  list(JOIN dirs_json "," dirs_json)
  _rampart_json_str(jroot "${root}")
  _rampart_json_str(jman "${manifest}")
  _rampart_json_str(jboard "${board}")
  _rampart_json_str(jtarget "${target}")
  file(WRITE "${CMAKE_BINARY_DIR}/rampart-image.json"
       "{\"target\":${jtarget},\"approot\":${jroot},\"manifest\":${jman},"
       "\"board\":${jboard},\"hw_dirs\":[${dirs_json}]}\n")

  if(RAMPART_SIGNING_KEY)
    set(board_args "")
    if(board)
      set(board_args --board "${board}")
    endif()
    set(out "${CMAKE_CURRENT_BINARY_DIR}/${target}.imagepackage")
    add_custom_command(OUTPUT "${out}"
      COMMAND "${RAMPART_CLI}" package pack "${root}" --manifest "${manifest}"
              --key "${RAMPART_SIGNING_KEY}" -o "${out}" ${board_args} ${dir_args}
      DEPENDS ${target} "${manifest}" ${PKG_RESOURCE_FILES}
      COMMENT "Packing ${target}.imagepackage"
      VERBATIM)
    add_custom_target(${target}-imagepackage ALL DEPENDS "${out}")
  endif()
endfunction()
